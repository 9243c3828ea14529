using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Hosting;

/// <summary>
/// HTTPS on every rank port (<c>--ssl-certfile</c>/<c>--ssl-keyfile</c>, <c>--self-signed-certs</c>), checked by clients
/// that trust only the certificate's CA and verify the host name, over HTTP/1.1 and HTTP/2.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private const string Chat = """{"model":"test-model","messages":[{"role":"user","content":"over tls"}],"max_tokens":3}""";
    private readonly string _dir = Directory.CreateTempSubdirectory("orleanssim-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task GivenPemCertificateServesHttp1AndHttp2OnEveryRankPort()
    {
        using var ca = TestCa.Create("OrleansSim test CA");
        var (certFile, keyFile) = ca.IssueServerPem(_dir, "server");
        await using var host = await SimHost.StartAsync(o => o with { SslCertFile = certFile, SslKeyFile = keyFile }, ranks: 2);

        for (var rank = 0; rank < 2; rank++)
        {
            foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
            {
                using var client = TrustingOnly(ca.Certificate, host.Options.Port + rank, version);
                var response = await client.PostAsync("/v1/chat/completions", new StringContent(Chat, System.Text.Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(version, response.Version);
                Assert.Contains("over tls", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }

        // A client that trusts another CA refuses the server.
        using var other = TestCa.Create("some other CA");
        using var stranger = TrustingOnly(other.Certificate, host.Options.Port, HttpVersion.Version11);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => stranger.GetAsync("/health"));
        Assert.IsType<AuthenticationException>(refused.InnerException);
    }

    [Fact]
    public async Task SelfSignedCertificateIsGeneratedAtStartup()
    {
        await using var host = await SimHost.StartAsync(o => o with { SelfSignedCerts = true });

        // Plain HTTP is not served on the port any more.
        using (var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.Options.Port}"), Timeout = TimeSpan.FromSeconds(10) })
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync("/health"));
        }

        // The system trust store does not know it ...
        using (var systemTrust = new HttpClient { BaseAddress = new Uri($"https://localhost:{host.Options.Port}"), Timeout = TimeSpan.FromSeconds(10) })
        {
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => systemTrust.GetAsync("/health"));
            Assert.IsType<AuthenticationException>(refused.InnerException);
        }

        // ... a client that trusts exactly the served certificate (its own CA) verifies it, host name included.
        var served = await ServedCertificateAsync(host.Options.Port);
        Assert.Equal(served.Subject, served.Issuer);
        Assert.True(served.NotAfter > DateTime.UtcNow.AddYears(9));
        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            using var client = TrustingOnly(served, host.Options.Port, version);
            var response = await client.PostAsync("/v1/chat/completions", new StringContent(Chat, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(version, response.Version);
        }
    }

    /// <summary>A client that trusts only <paramref name="root"/> (no system roots) and checks the host name, for one protocol version.</summary>
    private static HttpClient TrustingOnly(X509Certificate2 root, int port, Version version)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(root);
        var handler = new SocketsHttpHandler { SslOptions = { CertificateChainPolicy = policy } };
        return new HttpClient(handler)
        {
            BaseAddress = new Uri($"https://localhost:{port}"),
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>The certificate the server presents (read without trusting it, to build the trust-only-this client).</summary>
    private static async Task<X509Certificate2> ServedCertificateAsync(int port)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        // Trust on first use: accept whatever is presented, only to read it.
        using var ssl = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync("localhost");
        return X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate!.Export(X509ContentType.Cert));
    }
}

/// <summary>A CA made for one test, issuing server certificates for localhost as PEM files.</summary>
public sealed class TestCa : IDisposable
{
    private readonly RSA _key;

    private TestCa(RSA key, X509Certificate2 certificate)
    {
        _key = key;
        Certificate = certificate;
    }

    public X509Certificate2 Certificate { get; }

    public static TestCa Create(string name)
    {
        var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return new TestCa(key, request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30)));
    }

    /// <summary>Writes <c>name.crt</c> (PEM certificate) and <c>name.key</c> (PKCS#8 PEM key) for localhost/127.0.0.1.</summary>
    public (string CertFile, string KeyFile) IssueServerPem(string dir, string name, RSA? keyOverride = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var cert = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForRSA(_key, RSASignaturePadding.Pkcs1), now.AddDays(-1), now.AddDays(10), serial);
        var certFile = Path.Combine(dir, name + ".crt");
        var keyFile = Path.Combine(dir, name + ".key");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, (keyOverride ?? key).ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
