// Tests of the generated Swift bindings (module CairnCore), doing real work through libcairn_ffi.
// Each test gets a fresh, empty temp dir; see bindings/README.md for the API they check.
import Foundation

let keyName = "cairn.db"

/// Opens a new key-store store in `dir`, sets a profile and closes it; returns the key store.
@discardableResult
func makeStore(
    in dir: String, name: String = "Ada Lovelace", zone: String = "Europe/London"
) throws -> MemoryKeyStore {
    let keys = MemoryKeyStore()
    let store = try CairnStore.openWithKeyStore(dataDir: dir, keyStore: keys)
    try store.setProfile(displayName: name, homeTimeZone: zone)
    store.closeStore()
    return keys
}

func testNewStoreSavesOneKey(_ tmp: TempDir) async throws {
    let keys = MemoryKeyStore()
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: keys)
    defer { store.closeStore() }

    let status = try store.status()
    try expect(status.schemaVersion >= 1, "schemaVersion \(status.schemaVersion) should be >= 1")
    try expect(!status.deviceId.isEmpty, "deviceId should not be empty")
    try expectEqual(status.recordCount, 0, "recordCount of a new store")
    try expectEqual(status.outboxCount, 0, "outboxCount of a new store")

    try expectEqual(keys.saves, [keyName], "key store saves")
    try expectEqual(Array(keys.all.keys), [keyName], "names in the key store")
    try expectEqual(keys.secret(keyName)?.count, 32, "stored key length")
    try expect(keys.secret(keyName) != Data(count: 32), "the stored key should not be all zeros")
    try expect(try store.profile() == nil, "a new store should have no profile")
}

func testProfileRoundTripsAndSurvivesReopen(_ tmp: TempDir) async throws {
    let keys = MemoryKeyStore()
    let name = "Zoë Ångström-O'Brien 👩🏽‍⚕️"
    let zone = "America/Argentina/Buenos_Aires"

    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: keys)
    let before = try store.status()
    try store.setProfile(displayName: name, homeTimeZone: zone)
    let profile = try store.profile()
    try expectEqual(profile?.displayName, name, "displayName")
    try expectEqual(profile?.homeTimeZone, zone, "homeTimeZone")

    let after = try store.status()
    try expect(after.recordCount > before.recordCount,
               "recordCount should grow: \(before.recordCount) -> \(after.recordCount)")
    try expect(after.outboxCount > before.outboxCount,
               "outboxCount should grow: \(before.outboxCount) -> \(after.outboxCount)")

    // A second write keeps growing the field-change log and the latest value wins.
    try store.setProfile(displayName: "Ada", homeTimeZone: "Asia/Tokyo")
    let again = try store.status()
    try expect(again.outboxCount > after.outboxCount,
               "outboxCount should grow again: \(after.outboxCount) -> \(again.outboxCount)")
    try expectEqual(try store.profile()?.displayName, "Ada", "displayName after the second write")
    try store.setProfile(displayName: name, homeTimeZone: zone)
    let last = try store.status()
    store.closeStore()

    let reopened = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: keys)
    defer { reopened.closeStore() }
    let back = try reopened.profile()
    try expectEqual(back?.displayName, name, "displayName after reopening")
    try expectEqual(back?.homeTimeZone, zone, "homeTimeZone after reopening")
    let status = try reopened.status()
    try expectEqual(status.recordCount, last.recordCount, "recordCount after reopening")
    try expectEqual(status.outboxCount, last.outboxCount, "outboxCount after reopening")
    try expectEqual(status.deviceId, last.deviceId, "deviceId after reopening")
    try expectEqual(keys.saves, [keyName], "reopening must not save a new key")
    try expect(keys.loads.contains(keyName), "reopening should load \(keyName) from the key store")
}

func testInvalidTimeZoneIsRejected(_ tmp: TempDir) async throws {
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore())
    defer { store.closeStore() }
    let before = try store.status()
    try expectThrows(.invalid) { try store.setProfile(displayName: "Ada", homeTimeZone: "Mars/Olympus_Mons") }
    try expectThrows(.invalid) { try store.setProfile(displayName: "Ada", homeTimeZone: "") }
    try expect(try store.profile() == nil, "rejected writes must not set a profile")
    let after = try store.status()
    try expectEqual(after.recordCount, before.recordCount, "recordCount after rejected writes")
    try expectEqual(after.outboxCount, before.outboxCount, "outboxCount after rejected writes")
}

func testDifferentKeyIsWrongKeyAndLeavesFilesUnchanged(_ tmp: TempDir) async throws {
    let keys = try makeStore(in: tmp.path)
    let files = try tmp.snapshot()
    try expect(!files.isEmpty, "the store wrote no files in \(tmp.path)")

    var other = try keys.secret(keyName).orThrow("no key saved")
    other[other.startIndex] ^= 0xFF
    let otherKeys = MemoryKeyStore([keyName: other])
    try expectThrows(.wrongKey) { try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: otherKeys) }
    try expectEqual(otherKeys.saves, [], "a wrong key must not be replaced in the key store")
    try expectEqual(otherKeys.secret(keyName), other, "the key store's key after WrongKey")

    let randomKeys = MemoryKeyStore([keyName: Data((0..<32).map { _ in UInt8.random(in: 0...255) })])
    try expectThrows(.wrongKey) { try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: randomKeys) }

    let now = try tmp.snapshot()
    for (file, bytes) in files {
        try expect(now[file] == bytes, "\(file) changed after WrongKey opens")
    }

    // The right key still opens it, with the data intact.
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: keys)
    defer { store.closeStore() }
    try expectEqual(try store.profile()?.displayName, "Ada Lovelace", "displayName with the right key")
}

func testUnavailableKeyStoreIsKeyStoreError(_ tmp: TempDir) async throws {
    // New directory: saving the new key fails.
    let fresh = UnavailableKeyStore()
    try expectThrows(.keyStore) { try CairnStore.openWithKeyStore(dataDir: try tmp.subdirectory("new"), keyStore: fresh) }
    try expect(fresh.calls > 0, "the key store was never called for a new directory")

    // Existing store: loading the key fails.
    let existing = try tmp.subdirectory("existing")
    try makeStore(in: existing)
    let broken = UnavailableKeyStore()
    let error = try expectThrows(.keyStore) { try CairnStore.openWithKeyStore(dataDir: existing, keyStore: broken) }
    try expect(broken.calls > 0, "the key store was never called for an existing store")
    try expect(!String(describing: error).isEmpty, "the error should carry a message")
}

func testMissingOrMalformedKeyInKeyStore(_ tmp: TempDir) async throws {
    let dir = try tmp.subdirectory("store")
    try makeStore(in: dir)
    // Nothing stored for an existing store -> Locked (and no new key may be saved over it).
    let empty = MemoryKeyStore()
    try expectThrows(.locked) { try CairnStore.openWithKeyStore(dataDir: dir, keyStore: empty) }
    try expectEqual(empty.saves, [], "no key may be saved for an existing store")
    // A key that is not 32 bytes -> KeyStore.
    let short = MemoryKeyStore([keyName: Data(repeating: 7, count: 16)])
    try expectThrows(.keyStore) { try CairnStore.openWithKeyStore(dataDir: dir, keyStore: short) }
}

func testPassphraseOpenAndWrongPassphrase(_ tmp: TempDir) async throws {
    let passphrase = "tulip-gravel-93-orbit-canyon"
    let store = try CairnStore.openWithPassphrase(dataDir: tmp.path, passphrase: passphrase)
    let status = try store.status()
    try expect(status.schemaVersion >= 1, "schemaVersion \(status.schemaVersion) should be >= 1")
    try store.setProfile(displayName: "Grace Hopper", homeTimeZone: "America/New_York")
    store.closeStore()

    let wrong = "tulip-gravel-93-orbit-canyons"
    let error = try expectThrows(.wrongKey) { try CairnStore.openWithPassphrase(dataDir: tmp.path, passphrase: wrong) }
    try expect(!String(reflecting: error).contains(wrong), "the error message must not contain the passphrase")

    let reopened = try CairnStore.openWithPassphrase(dataDir: tmp.path, passphrase: passphrase)
    defer { reopened.closeStore() }
    try expectEqual(try reopened.profile()?.displayName, "Grace Hopper", "displayName after reopening")
}

func testCheckIntegrityIsAsyncAndTrue(_ tmp: TempDir) async throws {
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore())
    defer { store.closeStore() }
    try store.setProfile(displayName: "Ada", homeTimeZone: "UTC")
    let report = try await store.checkIntegrity(depth: .full)
    try expect(report.problems.isEmpty, "checkIntegrity() should find a fresh store healthy")

    // Several checks in flight at once, each awaited from its own task.
    let results = try await withThrowingTaskGroup(of: Bool.self) { group in
        for _ in 0..<4 { group.addTask { try await store.checkIntegrity(depth: .pages).problems.isEmpty } }
        var all: [Bool] = []
        for try await r in group { all.append(r) }
        return all
    }
    try expectEqual(results, [true, true, true, true], "concurrent checkIntegrity() results")

    // From synchronous code: a Task, with a semaphore to wait for it.
    let semaphore = DispatchSemaphore(value: 0)
    let box = ResultBox()
    Task.detached {
        box.set(await asyncResult { try await store.checkIntegrity(depth: .pages).problems.isEmpty })
        semaphore.signal()
    }
    try expect(semaphore.wait(timeout: .now() + 120) == .success, "checkIntegrity() in a Task timed out")
    try expectEqual(try box.get(), true, "checkIntegrity() in a Task")
}

func testClosedStoreIsLocked(_ tmp: TempDir) async throws {
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore())
    _ = try store.status()
    store.closeStore()
    try expectThrows(.locked) { try store.status() }
    try expectThrows(.locked) { try store.profile() }
    try expectThrows(.locked) { try store.setProfile(displayName: "Ada", homeTimeZone: "UTC") }
    try await expectThrowsAsync(.locked) { try await store.checkIntegrity(depth: .full) }
    store.closeStore() // closing twice is harmless
    try expectThrows(.locked) { try store.status() }
}

func testDatabaseIsEncryptedOnDisk(_ tmp: TempDir) async throws {
    let name = "Patient Zeta Quux"
    try makeStore(in: tmp.path, name: name, zone: "Australia/Lord_Howe")
    let files = try tmp.snapshot()
    try expect(files.values.contains { $0.count >= 1024 }, "no database file found in \(files.keys.sorted())")
    for (file, bytes) in files {
        try expect(!bytes.starts(with: sqlitePlaintextHeader), "\(file) is a plaintext SQLite database")
        try expect(!bytes.contains(Data(name.utf8)), "\(file) contains the display name in plaintext")
        try expect(!bytes.contains(Data("Lord_Howe".utf8)), "\(file) contains the time zone in plaintext")
    }
}

/// Carries a result out of a detached task.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Bool, Error>?

    func set(_ r: Result<Bool, Error>) {
        lock.lock()
        result = r
        lock.unlock()
    }

    func get() throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let result else { throw fail("the task produced no result") }
        return try result.get()
    }
}

func asyncResult<T>(_ body: () async throws -> T) async -> Result<T, Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

extension Optional {
    func orThrow(_ message: String, file: StaticString = #fileID, line: UInt = #line) throws -> Wrapped {
        guard let value = self else { throw fail(message, file: file, line: line) }
        return value
    }
}

/// Every test, in the order run.
let allTests: [(name: String, body: (TempDir) async throws -> Void)] = [
    ("newStoreSavesOneKey", testNewStoreSavesOneKey),
    ("profileRoundTripsAndSurvivesReopen", testProfileRoundTripsAndSurvivesReopen),
    ("invalidTimeZoneIsRejected", testInvalidTimeZoneIsRejected),
    ("differentKeyIsWrongKeyAndLeavesFilesUnchanged", testDifferentKeyIsWrongKeyAndLeavesFilesUnchanged),
    ("unavailableKeyStoreIsKeyStoreError", testUnavailableKeyStoreIsKeyStoreError),
    ("missingOrMalformedKeyInKeyStore", testMissingOrMalformedKeyInKeyStore),
    ("passphraseOpenAndWrongPassphrase", testPassphraseOpenAndWrongPassphrase),
    ("checkIntegrityIsAsyncAndTrue", testCheckIntegrityIsAsyncAndTrue),
    ("closedStoreIsLocked", testClosedStoreIsLocked),
    ("databaseIsEncryptedOnDisk", testDatabaseIsEncryptedOnDisk),
] + medsTests + timelineTests + vaultTests + syncTests
