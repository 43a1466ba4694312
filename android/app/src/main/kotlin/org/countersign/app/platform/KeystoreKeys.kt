package org.countersign.app.platform

import android.content.Context
import android.content.pm.PackageManager
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import java.security.KeyPairGenerator
import java.security.PrivateKey
import java.security.PublicKey
import java.security.spec.ECGenParameterSpec
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.countersign.app.logic.EcDeviceSigner
import org.countersign.app.logic.GcmKeyWrapper
import org.countersign.app.logic.SigningKeys
import org.countersign.core.KeyStoreException

private const val PROVIDER = "AndroidKeyStore"
private const val WRAPPING_KEY = "countersign.vault-wrapping-key"

private fun androidKeyStore(): java.security.KeyStore =
    java.security.KeyStore.getInstance(PROVIDER).apply { load(null) }

private fun hasStrongBox(context: Context) =
    context.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)

/** Android Keystore failures in the core's terms. */
private fun classify(e: Exception): KeyStoreException? = when (e) {
    is UserNotAuthenticatedException -> KeyStoreException.Locked()
    is KeyPermanentlyInvalidatedException ->
        KeyStoreException.Unavailable("the Keystore key was invalidated (screen lock removed or changed)")
    else -> null
}

/**
 * The core's KeyStore: the vault's data key wrapped with AES-256-GCM under a key that lives in
 * the Android Keystore (StrongBox when the device has one, else the TEE) and is never exported.
 *
 * The key is not bound to user authentication: a push that arrives while the app is closed must
 * be able to open the vault to verify the request. The app lock (settings) is enforced by the
 * core forgetting the data key (`lock`) and BiometricPrompt before `unlock`.
 */
fun androidKeystoreKeyStore(context: Context): GcmKeyWrapper {
    val app = context.applicationContext
    return GcmKeyWrapper("android-keystore", { wrappingKey(app) }, ::classify)
}

@Synchronized
private fun wrappingKey(context: Context): SecretKey {
    (androidKeyStore().getKey(WRAPPING_KEY, null) as? SecretKey)?.let { return it }
    fun generate(strongBox: Boolean): SecretKey {
        val spec = KeyGenParameterSpec.Builder(
            WRAPPING_KEY, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT,
        )
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .setIsStrongBoxBacked(strongBox)
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER)
            .apply { init(spec) }
            .generateKey()
    }
    return if (hasStrongBox(context)) {
        try {
            generate(strongBox = true)
        } catch (e: StrongBoxUnavailableException) {
            generate(strongBox = false)
        }
    } else {
        generate(strongBox = false)
    }
}

/** Push device keys: EC P-256 in the Android Keystore (StrongBox when present), signing only. */
class KeystoreSigningKeys(context: Context) : SigningKeys {
    private val strongBox = hasStrongBox(context)

    override fun create(alias: String): PublicKey {
        fun generate(strongBox: Boolean): PublicKey {
            val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
                .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
                .setDigests(KeyProperties.DIGEST_SHA256)
                .setIsStrongBoxBacked(strongBox)
                .build()
            return KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER)
                .apply { initialize(spec) }
                .generateKeyPair()
                .public
        }
        return if (strongBox) {
            try {
                generate(true)
            } catch (e: StrongBoxUnavailableException) {
                generate(false)
            }
        } else {
            generate(false)
        }
    }

    override fun privateKey(alias: String): PrivateKey? = androidKeyStore().getKey(alias, null) as? PrivateKey

    override fun delete(alias: String) {
        val ks = androidKeyStore()
        if (ks.containsAlias(alias)) ks.deleteEntry(alias)
    }
}

/** The core's DeviceSigner over Keystore keys; signatures are DER (SHA256withECDSA). */
fun androidDeviceSigner(context: Context) = EcDeviceSigner(KeystoreSigningKeys(context.applicationContext), ::classify)
