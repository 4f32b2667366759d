import CairnCore
import Foundation
import UserNotifications

/// Opens the store once and keeps it; tells the screens when to read again.
@MainActor
final class AppModel: ObservableObject {
    /// Where the app stands: opening the store, open, or unable to open it.
    enum State {
        case opening
        case open(CairnStore)
        case failed(String)
    }

    /// Where decrypted copies of documents live while Quick Look shows them; emptied at launch.
    nonisolated static var openedCopies: URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("open", isDirectory: true)
    }

    /// iOS keeps at most 64 pending local notifications per app.
    static let notificationLimit: UInt32 = 64

    @Published private(set) var state: State = .opening
    /// Bumped whenever the screens should read from the store again (foreground, zone change,
    /// a dose logged).
    @Published private(set) var generation = 0
    /// Why reminders could not be scheduled, if they could not.
    @Published private(set) var notificationProblem: String?
    /// What the launch check of the database pages found, if anything.
    @Published private(set) var integrityProblem: String?

    private let scheduler = UserNotificationScheduler()

    /// Opens (or on first launch creates) the store in Application Support, keyed from the Keychain.
    func open() async {
        guard case .opening = state else { return }
        try? FileManager.default.removeItem(at: Self.openedCopies)
        do {
            let directory = try FileManager.default
                .url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
                .appendingPathComponent("cairn", isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.path
            let store = try await Task.detached {
                try CairnStore.openWithKeyStore(dataDir: path, keyStore: KeychainKeyStore(), clock: DeviceClock())
            }.value
            state = .open(store)
        } catch {
            state = .failed(describe(error))
            return
        }
        _ = try? await UNUserNotificationCenter.current().requestAuthorization(options: [.alert, .sound, .badge])
        await refresh()
        await checkPages()
    }

    /// The cheap check at every launch: every database page's HMAC, off the main thread, so a
    /// damaged page no screen has read yet is found and named before it matters.
    func checkPages() async {
        guard case .open(let store) = state else { return }
        do {
            let report = try await store.checkIntegrity(depth: .pages)
            integrityProblem = report.problems.first
        } catch {
            integrityProblem = describe(error)
        }
    }

    /// Re-reads every screen and re-plans the reminders.
    func refresh() async {
        generation += 1
        await syncNotifications()
    }

    /// Hands the core's next reminders to the notification center (off the main thread: the
    /// scheduler waits for the center's answers).
    func syncNotifications() async {
        guard case .open(let store) = state else { return }
        let scheduler = self.scheduler
        let limit = Self.notificationLimit
        do {
            _ = try await Task.detached {
                try store.syncNotifications(scheduler: scheduler, max: limit)
            }.value
            notificationProblem = nil
        } catch {
            notificationProblem = describe(error)
        }
    }
}
