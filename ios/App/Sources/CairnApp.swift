import CairnCore
import SwiftUI
import UIKit
import UserNotifications

@main
struct CairnApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var appDelegate
    @StateObject private var model = AppModel()
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            RootView()
                .environmentObject(model)
                .task { await model.open() }
                .onChange(of: scenePhase) { _, phase in
                    if phase == .active { Task { await model.refresh() } }
                }
                .onReceive(NotificationCenter.default.publisher(for: .NSSystemTimeZoneDidChange)) { _ in
                    // Wall-clock medications move with the zone: the core plans again.
                    Task { await model.refresh() }
                }
                .onReceive(NotificationCenter.default.publisher(for: .NSCalendarDayChanged)) { _ in
                    Task { await model.refresh() }
                }
        }
    }
}

/// Shows reminders while the app is open, too.
final class AppDelegate: NSObject, UIApplicationDelegate, UNUserNotificationCenterDelegate {
    func application(
        _ application: UIApplication,
        didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        UNUserNotificationCenter.current().delegate = self
        return true
    }

    nonisolated func userNotificationCenter(
        _ center: UNUserNotificationCenter, willPresent notification: UNNotification
    ) async -> UNNotificationPresentationOptions {
        [.banner, .list, .sound]
    }
}

/// The four tabs once the store is open.
struct RootView: View {
    @EnvironmentObject private var model: AppModel

    var body: some View {
        switch model.state {
        case .opening:
            ProgressView("Opening your record…")
        case .failed(let message):
            ContentUnavailableView(
                "Cairn could not open your record", systemImage: "lock.trianglebadge.exclamationmark",
                description: Text(message))
        case .open(let store):
            TabView {
                TodayScreen(store: store)
                    .tabItem { Label("Today", systemImage: "pills") }
                TimelineScreen(store: store)
                    .tabItem { Label("Timeline", systemImage: "list.bullet.rectangle") }
                DocumentsScreen(store: store)
                    .tabItem { Label("Documents", systemImage: "doc.text") }
                CareTeamScreen()
                    .tabItem { Label("Care team", systemImage: "person.2") }
            }
        }
    }
}
