namespace OrleansSim.Core.Configuration;

/// <summary>The value type of a flag; decides how command-line text and YAML nodes are parsed.</summary>
internal enum FlagKind
{
    /// <summary>Free text.</summary>
    String,

    /// <summary>32-bit integer.</summary>
    Int,

    /// <summary>64-bit integer.</summary>
    Long,

    /// <summary>Floating-point number.</summary>
    Double,

    /// <summary>Boolean: <c>--flag</c> alone is true, otherwise only <c>--flag=value</c>.</summary>
    Bool,

    /// <summary>Duration: plain number = milliseconds, or Go-style text (<c>1.5s</c>).</summary>
    Duration,

    /// <summary>Multi-value list of strings (<c>--x a b</c>, repeatable).</summary>
    StringList,

    /// <summary>One JSON object (a JSON string on the command line, a mapping in YAML).</summary>
    JsonObject,

    /// <summary>Multi-value list of JSON objects (each a JSON string, or a mapping in YAML).</summary>
    JsonObjectList,
}

/// <summary>Whether the simulator acts on a flag.</summary>
internal enum FlagStatus
{
    /// <summary>Parsed, validated and applied to <see cref="SimulatorOptions"/>.</summary>
    Supported,

    /// <summary>Parsed and validated, but giving it at all is an error until its feature exists.</summary>
    NotSupportedYet,

    /// <summary>vLLM flag that llm-d-inference-sim also ignores: parsed for its type, then has no effect.</summary>
    Ignored,
}

/// <summary>
/// One row of the flag table (<see cref="FlagTable"/>). To support a flag: set <see cref="Status"/> to
/// <see cref="FlagStatus.Supported"/>, add its property to <see cref="SimulatorOptions"/>, and fill in
/// <see cref="Apply"/> and <see cref="Read"/>.
/// </summary>
/// <param name="Name">Kebab-case name, used as <c>--name</c> and as the YAML / JSON key.</param>
/// <param name="Kind">Value type.</param>
/// <param name="Default">Default value (boxed; lists as arrays); null = no value.</param>
/// <param name="Help">One-line meaning for <c>--help</c>.</param>
internal sealed record FlagDefinition(string Name, FlagKind Kind, object? Default, string Help)
{
    public FlagStatus Status { get; init; } = FlagStatus.NotSupportedYet;

    /// <summary>Shown in help instead of <see cref="Default"/> (for computed defaults).</summary>
    public string? DefaultText { get; init; }

    /// <summary>Computes the default at load time (e.g. the seed); wins over <see cref="Default"/>.</summary>
    public Func<object>? DefaultFactory { get; init; }

    /// <summary>Environment variable that supplies the value when the flag is absent from the command line (beats YAML).</summary>
    public string? EnvVar { get; init; }

    /// <summary>vLLM also accepts <c>--no-name</c> to set the flag false.</summary>
    public bool HasNoForm { get; init; }

    /// <summary>Only valid on the command line (not a YAML key, not in the JSON dump of the config).</summary>
    public bool CommandLineOnly { get; init; }

    /// <summary>May be changed while the process runs through <c>POST /admin/config</c> (<see cref="RuntimeSettings"/>).</summary>
    public bool AdminConfigurable { get; init; }

    /// <summary>Single-flag rule: given the value, returns what is wrong (text after <c>--name </c>) or null.</summary>
    public Func<object, string?>? Check { get; init; }

    /// <summary>Copies the resolved value into the options (supported flags only).</summary>
    public Func<SimulatorOptions, object?, SimulatorOptions>? Apply { get; init; }

    /// <summary>Reads the final value back out of the options for the JSON dump (supported flags only).</summary>
    public Func<SimulatorOptions, object?>? Read { get; init; }

    public bool IsMultiValue => Kind is FlagKind.StringList or FlagKind.JsonObjectList;
}
