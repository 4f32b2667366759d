import CairnCore
import Foundation
import Security

/// The store's key in the iOS Keychain: a generic password per key name, readable once the
/// device has been unlocked after a restart (so reminders and background work can open the
/// store) and never copied to another device or into a backup that can be restored elsewhere.
final class KeychainKeyStore: KeyStore {
    private let service: String

    init(service: String = "app.cairn.store") {
        self.service = service
    }

    func load(name: String) throws -> Data? {
        var query = itemQuery(name)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data else {
                throw KeyStoreError.Unavailable(reason: "the Keychain item holds no data")
            }
            return data
        case errSecItemNotFound:
            return nil
        default:
            throw unavailable(status)
        }
    }

    func save(name: String, secret: Data) throws {
        let attributes: [String: Any] = [
            kSecValueData as String: secret,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        let updated = SecItemUpdate(itemQuery(name) as CFDictionary, attributes as CFDictionary)
        switch updated {
        case errSecSuccess:
            return
        case errSecItemNotFound:
            let item = itemQuery(name).merging(attributes) { _, new in new }
            let added = SecItemAdd(item as CFDictionary, nil)
            guard added == errSecSuccess else { throw unavailable(added) }
        default:
            throw unavailable(updated)
        }
    }

    private func itemQuery(_ name: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: name,
        ]
    }

    private func unavailable(_ status: OSStatus) -> KeyStoreError {
        let reason = (SecCopyErrorMessageString(status, nil) as String?) ?? "Keychain error \(status)"
        return KeyStoreError.Unavailable(reason: reason)
    }
}
