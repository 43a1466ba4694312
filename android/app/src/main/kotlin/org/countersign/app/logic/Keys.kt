// Plain Kotlin (no android.*): compiled and tested on the JVM by android/scripts/jvm-check.sh.
// The Android Keystore classes (platform/) plug Keystore-held keys into these; the JVM test plugs
// in software keys, so the wrapping format and the signature encoding run against the real core.
package org.countersign.app.logic

import java.math.BigInteger
import java.security.PrivateKey
import java.security.PublicKey
import java.security.Signature
import java.security.interfaces.ECPublicKey
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.countersign.core.DeviceSigner
import org.countersign.core.KeyStore
import org.countersign.core.KeyStoreException

/**
 * The core's [KeyStore] over an AES-256-GCM key the platform holds (Android Keystore with
 * StrongBox when present). The provider picks the 12-byte nonce (Android Keystore refuses
 * caller-chosen nonces for encryption); the blob is `0x01 ‖ nonce ‖ ciphertext ‖ tag`, with the
 * store kind as associated data.
 *
 * @param key loads (or first creates) the wrapping key.
 * @param classify maps platform exceptions (e.g. UserNotAuthenticatedException) to the core's
 *   error kinds; anything it does not map becomes [KeyStoreException.Failed] with the exception's
 *   class name only.
 */
class GcmKeyWrapper(
    private val kindName: String,
    private val key: () -> SecretKey,
    private val classify: (Exception) -> KeyStoreException? = { null },
) : KeyStore {
    override fun kind(): String = kindName

    override fun wrap(dataKey: ByteArray): ByteArray = guarded {
        try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, key())
            cipher.updateAAD(kindName.toByteArray())
            val sealed = cipher.doFinal(dataKey)
            val nonce = cipher.iv
            if (nonce == null || nonce.size != NONCE_BYTES) {
                throw KeyStoreException.Failed("unexpected GCM nonce length ${nonce?.size}")
            }
            byteArrayOf(VERSION) + nonce + sealed
        } finally {
            dataKey.fill(0)
        }
    }

    override fun unwrap(wrapped: ByteArray): ByteArray = guarded {
        if (wrapped.size < 1 + NONCE_BYTES + TAG_BYTES || wrapped[0] != VERSION) {
            throw KeyStoreException.WrongKey()
        }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(TAG_BYTES * 8, wrapped, 1, NONCE_BYTES))
        cipher.updateAAD(kindName.toByteArray())
        try {
            cipher.doFinal(wrapped, 1 + NONCE_BYTES, wrapped.size - 1 - NONCE_BYTES)
        } catch (e: AEADBadTagException) {
            throw KeyStoreException.WrongKey()
        }
    }

    private inline fun <T> guarded(block: () -> T): T = try {
        block()
    } catch (e: KeyStoreException) {
        throw e
    } catch (e: Exception) {
        throw classify(e) ?: KeyStoreException.Failed(e.javaClass.simpleName)
    }

    companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val VERSION: Byte = 1
        private const val NONCE_BYTES = 12
        private const val TAG_BYTES = 16
    }
}

/** Where device signing keys live: Android Keystore (StrongBox / TEE), or software in tests. */
interface SigningKeys {
    /** Creates an EC P-256 key pair under [alias] (replacing any) and returns its public key. */
    fun create(alias: String): PublicKey

    /** The private key handle, or null if there is none. */
    fun privateKey(alias: String): PrivateKey?

    fun delete(alias: String)
}

/**
 * The core's [DeviceSigner]: push device keys that never leave the platform. Signatures are
 * `SHA256withECDSA`, which the JCA and Android Keystore encode as DER; the core accepts DER.
 */
class EcDeviceSigner(
    private val keys: SigningKeys,
    private val classify: (Exception) -> KeyStoreException? = { null },
) : DeviceSigner {
    override fun createKey(alias: String): ByteArray = guarded {
        val public = keys.create(prefixed(alias)) as? ECPublicKey
            ?: throw KeyStoreException.Failed("the platform made a key that is not EC")
        uncompressedPoint(public)
    }

    override fun sign(alias: String, message: ByteArray): ByteArray = guarded {
        val key = keys.privateKey(prefixed(alias))
            ?: throw KeyStoreException.Unavailable("device key $alias is missing")
        Signature.getInstance("SHA256withECDSA").run {
            initSign(key)
            update(message)
            sign()
        }
    }

    override fun deleteKey(alias: String) = guarded { keys.delete(prefixed(alias)) }

    private fun prefixed(alias: String) = "countersign.device.$alias"

    private inline fun <T> guarded(block: () -> T): T = try {
        block()
    } catch (e: KeyStoreException) {
        throw e
    } catch (e: Exception) {
        throw classify(e) ?: KeyStoreException.Failed(e.javaClass.simpleName)
    }
}

/** `0x04 ‖ X ‖ Y`, each coordinate left-padded to 32 bytes (SEC 1 uncompressed P-256 point). */
fun uncompressedPoint(key: ECPublicKey): ByteArray {
    require(key.params.curve.field.fieldSize == 256) { "not a 256-bit curve" }
    return byteArrayOf(4) + fixed32(key.w.affineX) + fixed32(key.w.affineY)
}

private fun fixed32(v: BigInteger): ByteArray {
    val raw = v.toByteArray() // big-endian, may carry a sign byte or be short
    val out = ByteArray(32)
    val src = if (raw.size > 32) raw.copyOfRange(raw.size - 32, raw.size) else raw
    src.copyInto(out, 32 - src.size)
    return out
}
