// Sync through the generated Swift bindings, against a real relay the test script starts on
// 127.0.0.1 (CAIRN_TEST_RELAY): an account, a tablet linked by code, both ways, the devices.
import Foundation

/// The relay the test script started; the sync tests fail without one rather than skip.
func testRelay() throws -> String {
    try ProcessInfo.processInfo.environment["CAIRN_TEST_RELAY"]
        .orThrow("CAIRN_TEST_RELAY is not set: run bindings/swift/run-tests.sh")
}

/// The app's progress indicator: records every phase it is told.
final class RecordingObserver: SyncObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var phases: [SyncPhase] = []
    var seen: [SyncPhase] { lock.lock(); defer { lock.unlock() }; return phases }

    func progress(progress: SyncProgress) {
        lock.lock(); defer { lock.unlock() }
        phases.append(progress.phase)
    }
}

func testTabletLinkedByCodeGetsThePhonesJourney(_ tmp: TempDir) async throws {
    let relay = try testRelay()
    let phone = try CairnStore.openWithKeyStore(dataDir: tmp.path + "/phone", keyStore: MemoryKeyStore())
    defer { phone.closeStore() }
    let tablet = try CairnStore.openWithKeyStore(dataDir: tmp.path + "/tablet", keyStore: MemoryKeyStore())
    defer { tablet.closeStore() }
    let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
    let event = try phone.addEvent(event: entry(now, .note, title: "Port fitted for chemo"))
    try expect(!(try phone.syncEnabled()), "no account yet")

    let kit = try await phone.createAccount(relay: relay)
    try expect(kit.hasPrefix("CAIRN1-"), "a recovery kit")
    try expectEqual(try phone.recoveryKit(), kit, "the same kit again")

    let session = try await phone.startLink()
    try expect(session.qr().hasPrefix("cairn-link:1:"), "a QR payload")
    let joining = RecordingObserver()
    async let linked = session.waitForDevice()
    let report = try await tablet.joinAccount(relay: relay, code: session.code(), observer: joining)
    try expectEqual(try await linked, try tablet.status().deviceId, "the phone linked the tablet")
    try expect(report.pulledChanges > 0, "the journey came down")
    try expect(joining.seen.contains(.pulling), "progress while pulling")
    try expectEqual(joining.seen.last, .done, "and done")
    try expectEqual(try tablet.event(id: event).title, "Port fitted for chemo", "the event")

    try tablet.editEvent(id: event, edit: EventEdit(title: "Port fitted, left side"))
    _ = try await tablet.syncNow(observer: nil)
    let pulled = try await phone.syncNow(observer: RecordingObserver())
    try expectEqual(pulled.pulledBatches, 1, "one batch from the tablet")
    try expectEqual(try phone.event(id: event).title, "Port fitted, left side", "the tablet's edit")
    let devices = try await phone.devices()
    try expectEqual(devices.count, 2, "two devices")
    try expectEqual(devices.filter(\.thisDevice).count, 1, "one is this one")
}

func testSyncWithoutAnAccountIsNotFound(_ tmp: TempDir) async throws {
    let phone = try CairnStore.openWithKeyStore(dataDir: tmp.path + "/phone", keyStore: MemoryKeyStore())
    defer { phone.closeStore() }
    _ = try await expectThrowsAsync(.notFound) { try await phone.syncNow(observer: nil) }
}

let syncTests: [(name: String, body: (TempDir) async throws -> Void)] = [
    ("syncTabletLinkedByCodeGetsThePhonesJourney", testTabletLinkedByCodeGetsThePhonesJourney),
    ("syncWithoutAnAccountIsNotFound", testSyncWithoutAnAccountIsNotFound),
]
