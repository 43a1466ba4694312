using System.Security.Cryptography;
using Countersign.Core;
using Windows.Security.Credentials.UI;

namespace Countersign.App.Platform;

/// <summary>The system clock, shared by the core and the countdowns.</summary>
internal sealed class SystemClock : Clock
{
    public ulong NowUnixSeconds() => (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}

/// <summary>
/// The core's <c>KeyStore</c> over DPAPI (<c>ProtectedData</c>, <c>CurrentUser</c>): the vault's data
/// key is protected with the user's Windows credentials, so only this Windows account on this
/// machine opens it. The store kind is also the DPAPI entropy, binding blobs to this purpose.
/// </summary>
internal sealed class DpapiKeyStore : KeyStore
{
    private static readonly byte[] Entropy = "countersign/vault-key/v1"u8.ToArray();

    public string Kind() => "windows-dpapi";

    public byte[] Wrap(byte[] dataKey)
    {
        try
        {
            return ProtectedData.Protect(dataKey, Entropy, DataProtectionScope.CurrentUser);
        }
        catch (CryptographicException)
        {
            throw new KeyStoreException.Unavailable("DPAPI could not protect the key");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    public byte[] Unwrap(byte[] wrapped)
    {
        try
        {
            return ProtectedData.Unprotect(wrapped, Entropy, DataProtectionScope.CurrentUser);
        }
        catch (CryptographicException)
        {
            // Another user, another machine, a reset password, or a damaged blob.
            throw new KeyStoreException.WrongKey();
        }
    }
}

internal enum Verification { Verified, Cancelled, Unavailable }

/// <summary>Windows Hello (face, fingerprint or PIN) before every approval and to unlock.</summary>
internal static class WindowsHello
{
    public static async Task<Verification> VerifyAsync(string message)
    {
        var availability = await UserConsentVerifier.CheckAvailabilityAsync();
        if (availability != UserConsentVerifierAvailability.Available) return Verification.Unavailable;
        // Unpackaged desktop apps get the dialog centred on the screen; see README.
        return await UserConsentVerifier.RequestVerificationAsync(message) switch
        {
            UserConsentVerificationResult.Verified => Verification.Verified,
            UserConsentVerificationResult.Canceled => Verification.Cancelled,
            _ => Verification.Unavailable,
        };
    }
}
