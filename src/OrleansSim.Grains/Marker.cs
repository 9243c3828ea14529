namespace OrleansSim.Grains; internal static class Marker { }
