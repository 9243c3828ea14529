using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansSim.Core.Configuration;

namespace OrleansSim.Server.Hosting;

/// <summary>The TLS certificate could not be set up; the process reports it in one line and exits non-zero.</summary>
public sealed class TlsSetupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The certificate every rank port serves (vLLM's <c>--ssl-certfile</c>/<c>--ssl-keyfile</c>, llm-d-inference-sim's
/// <c>--self-signed-certs</c>): PEM files read once at startup, or a self-signed certificate generated in memory.
/// Cluster-internal Orleans traffic is not affected.
/// </summary>
public static class ServerCertificate
{
    /// <summary>The certificate for <paramref name="options"/>, or null when the ports serve plain HTTP.</summary>
    public static X509Certificate2? Load(SimulatorOptions options)
    {
        if (options.SelfSignedCerts)
        {
            return Generate(options);
        }

        if (options.SslCertFile is not { } certFile || options.SslKeyFile is not { } keyFile)
        {
            return null;
        }

        Readable(certFile, "--ssl-certfile");
        Readable(keyFile, "--ssl-keyfile");
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (CryptographicException ex) when (ex.Message.Contains("does not match", StringComparison.OrdinalIgnoreCase))
        {
            throw new TlsSetupException($"--ssl-keyfile {keyFile} does not match the certificate in --ssl-certfile {certFile}", ex);
        }
        catch (CryptographicException ex)
        {
            throw new TlsSetupException($"cannot read the TLS certificate/key (--ssl-certfile {certFile}, --ssl-keyfile {keyFile}): {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new TlsSetupException($"cannot read the TLS certificate/key (--ssl-certfile {certFile}, --ssl-keyfile {keyFile}): {ex.Message}", ex);
        }

        if (!certificate.HasPrivateKey)
        {
            throw new TlsSetupException($"--ssl-keyfile {keyFile} holds no private key for --ssl-certfile {certFile}");
        }

        return certificate;
    }

    private static void Readable(string path, string flag)
    {
        if (!File.Exists(path))
        {
            throw new TlsSetupException($"{flag} {path}: file not found");
        }

        try
        {
            using var stream = File.OpenRead(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TlsSetupException($"{flag} {path}: cannot be read ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// An RSA-2048 certificate valid for 10 years (as llm-d-inference-sim's), issued to itself, with the names a
    /// client may dial: localhost, the loopback addresses, the host and pod names, the pod IP and the bind address.
    /// </summary>
    private static X509Certificate2 Generate(SimulatorOptions options)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=OrleansSim self-signed", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in new[] { "localhost", Environment.MachineName, options.PodName }.Where(n => n.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            names.AddDnsName(dns);
        }

        var addresses = new HashSet<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        foreach (var text in new[] { options.PodIp, options.AdvertiseAddress, options.Host })
        {
            if (IPAddress.TryParse(text, out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any))
            {
                addresses.Add(address);
            }
        }

        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
    }
}
