import CryptoKit
import Foundation
import Security
import CountersignCore

/// The core's `KeyStore`. With a Secure Enclave (devices), the vault's data key is encrypted to a
/// P-256 key that never leaves the Enclave (ECIES, X9.63 SHA-256, AES-GCM); without one (the
/// simulator), to an AES-256 key kept in the Keychain. Both keys are this-device-only and
/// available after first unlock, so a push can be verified while the phone is locked.
final class KeychainKeyStore: KeyStore, @unchecked Sendable {
    private static let service = "org.countersign.vault-wrapping-key"
    private static let enclaveTag = Data("org.countersign.vault-wrapping-key.se".utf8)
    private let useEnclave = SecureEnclave.isAvailable

    func kind() -> String { useEnclave ? "ios-secure-enclave" : "ios-keychain" }

    func wrap(dataKey: Data) throws -> Data {
        if useEnclave {
            let key = try enclaveKey()
            guard let pub = SecKeyCopyPublicKey(key) else { throw KeyStoreError.Failed(detail: "no public key") }
            var error: Unmanaged<CFError>?
            guard let sealed = SecKeyCreateEncryptedData(pub, .eciesEncryptionCofactorVariableIVX963SHA256AESGCM,
                                                         dataKey as CFData, &error) else {
                throw KeyStoreError.Failed(detail: "Secure Enclave encryption failed")
            }
            return Data([1]) + (sealed as Data)
        }
        let sealed = try AES.GCM.seal(dataKey, using: try keychainKey(create: true), authenticating: Data(kind().utf8))
        guard let combined = sealed.combined else { throw KeyStoreError.Failed(detail: "AES-GCM") }
        return Data([2]) + combined
    }

    func unwrap(wrapped: Data) throws -> Data {
        guard let version = wrapped.first else { throw KeyStoreError.WrongKey }
        let body = wrapped.dropFirst()
        switch (version, useEnclave) {
        case (1, true):
            var error: Unmanaged<CFError>?
            guard let plain = SecKeyCreateDecryptedData(try enclaveKey(), .eciesEncryptionCofactorVariableIVX963SHA256AESGCM,
                                                        Data(body) as CFData, &error) else {
                throw KeyStoreError.WrongKey
            }
            return plain as Data
        case (2, false):
            do {
                return try AES.GCM.open(AES.GCM.SealedBox(combined: body), using: try keychainKey(create: false),
                                        authenticating: Data(kind().utf8))
            } catch let e as KeyStoreError {
                throw e
            } catch {
                throw KeyStoreError.WrongKey
            }
        default:
            throw KeyStoreError.WrongKey
        }
    }

    private func enclaveKey() throws -> SecKey {
        let query: [String: Any] = [
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: Self.enclaveTag,
            kSecAttrTokenID as String: kSecAttrTokenIDSecureEnclave,
            kSecReturnRef as String: true,
        ]
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecSuccess, let item { return item as! SecKey } // swiftlint:disable:this force_cast
        try check(status, allowNotFound: true)
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(nil, kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
                                                           .privateKeyUsage, &error) else {
            throw KeyStoreError.Failed(detail: "access control")
        }
        let attributes: [String: Any] = [
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeySizeInBits as String: 256,
            kSecAttrTokenID as String: kSecAttrTokenIDSecureEnclave,
            kSecPrivateKeyAttrs as String: [
                kSecAttrIsPermanent as String: true,
                kSecAttrApplicationTag as String: Self.enclaveTag,
                kSecAttrAccessControl as String: access,
            ],
        ]
        guard let key = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else {
            throw KeyStoreError.Unavailable(detail: "the Secure Enclave could not create a key")
        }
        return key
    }

    private func keychainKey(create: Bool) throws -> SymmetricKey {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: Self.service,
            kSecReturnData as String: true,
        ]
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecSuccess, let data = item as? Data { return SymmetricKey(data: data) }
        try check(status, allowNotFound: create)
        let key = SymmetricKey(size: .bits256)
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: Self.service,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
            kSecValueData as String: key.withUnsafeBytes { Data($0) },
        ]
        try check(SecItemAdd(add as CFDictionary, nil), allowNotFound: false)
        return key
    }
}

/// Keychain status codes in the core's terms.
func check(_ status: OSStatus, allowNotFound: Bool) throws {
    switch status {
    case errSecSuccess: return
    case errSecItemNotFound where allowNotFound: return
    case errSecItemNotFound: throw KeyStoreError.Unavailable(detail: "the Keychain key is missing")
    case errSecInteractionNotAllowed: throw KeyStoreError.Locked
    default: throw KeyStoreError.Failed(detail: "Keychain status \(status)")
    }
}

/// The core's `DeviceSigner`: push device keys in the Secure Enclave (CryptoKit). The Enclave
/// key's opaque handle (`dataRepresentation`, usable only by this device's Enclave) is kept in the
/// Keychain under the alias. Signatures are DER, which the core accepts.
final class SecureEnclaveSigner: DeviceSigner, @unchecked Sendable {
    private static let service = "org.countersign.device-key"

    func createKey(alias: String) throws -> Data {
        let key = try SecureEnclave.P256.Signing.PrivateKey()
        try? deleteKey(alias: alias)
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: Self.service,
            kSecAttrAccount as String: alias,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
            kSecValueData as String: key.dataRepresentation,
        ]
        try check(SecItemAdd(add as CFDictionary, nil), allowNotFound: false)
        return key.publicKey.x963Representation // 0x04 ‖ X ‖ Y, 65 bytes
    }

    func sign(alias: String, message: Data) throws -> Data {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: Self.service,
            kSecAttrAccount as String: alias,
            kSecReturnData as String: true,
        ]
        var item: CFTypeRef?
        try check(SecItemCopyMatching(query as CFDictionary, &item), allowNotFound: false)
        guard let handle = item as? Data else { throw KeyStoreError.Unavailable(detail: "device key missing") }
        let key = try SecureEnclave.P256.Signing.PrivateKey(dataRepresentation: handle)
        return try key.signature(for: message).derRepresentation
    }

    func deleteKey(alias: String) throws {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: Self.service,
            kSecAttrAccount as String: alias,
        ]
        try check(SecItemDelete(query as CFDictionary), allowNotFound: true)
    }
}
