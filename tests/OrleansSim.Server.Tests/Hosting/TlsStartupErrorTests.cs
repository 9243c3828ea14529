using System.Security.Cryptography;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Hosting;

/// <summary>The real executable refuses to start, in one line and with exit code 2, on a bad certificate or key.</summary>
public sealed class TlsStartupErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orleanssim-tls-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Cases() => ["missing-cert", "missing-key", "garbage-key", "mismatched-key"];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadCertificateOrKeyExitsWithOneLine(string problem)
    {
        using var ca = TestCa.Create("startup CA");
        var (certFile, keyFile) = ca.IssueServerPem(_dir, "server");
        string expected;
        switch (problem)
        {
            case "missing-cert":
                certFile = Path.Combine(_dir, "absent.crt");
                expected = $"--ssl-certfile {certFile}: file not found";
                break;
            case "missing-key":
                keyFile = Path.Combine(_dir, "absent.key");
                expected = $"--ssl-keyfile {keyFile}: file not found";
                break;
            case "garbage-key":
                File.WriteAllText(keyFile, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
                expected = "cannot read the TLS certificate/key";
                break;
            default:
                using (var otherKey = RSA.Create(2048))
                {
                    (certFile, keyFile) = ca.IssueServerPem(_dir, "mismatched", keyOverride: otherKey);
                }

                expected = $"--ssl-keyfile {keyFile} does not match the certificate in --ssl-certfile {certFile}";
                break;
        }

        await using var process = SimProcess.Start(["--model", "m", "--port", FreePorts.One().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--ssl-certfile", certFile, "--ssl-keyfile", keyFile]);
        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }
}
