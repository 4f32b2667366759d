import CairnCore
import Foundation
import UserNotifications

/// Applies the core's notification plan to UNUserNotificationCenter: removes the requests in
/// `plan.cancel`, adds those in `plan.schedule` under the core's stable ids. Each fires at the
/// exact instant the core planned; the core plans again when the zone or the day changes.
///
/// `pending` tells the core which of Cairn's requests the center still holds, so after a
/// restore onto a new phone, or anything else that emptied the center, the next sync sets every
/// reminder again instead of trusting the plan it committed last.
///
/// Both calls wait for the notification center to answer, so the app calls
/// `CairnStore.syncNotifications` off the main thread (see `AppModel.syncNotifications`). When
/// notifications are not allowed `apply` throws, and the core keeps its last plan; the next
/// sync reconciles with what the center then holds.
final class UserNotificationScheduler: NotificationScheduler, @unchecked Sendable {
    /// Marks Cairn's requests in `userInfo`, so `pending` never reports another component's.
    /// (A request added before the mark existed is not reported; the core schedules it again
    /// under the same id, which replaces it.)
    private static let mark = "cairnReminder"

    private let center: UNUserNotificationCenter

    init(center: UNUserNotificationCenter = .current()) {
        self.center = center
    }

    func pending() throws -> [String] {
        let ids = Collected()
        let done = DispatchSemaphore(value: 0)
        center.getPendingNotificationRequests { requests in
            for request in requests where request.content.userInfo[Self.mark] != nil {
                ids.append(request.identifier)
            }
            done.signal()
        }
        done.wait()
        return ids.all
    }

    func apply(plan: NotificationPlan) throws {
        guard allowed() else {
            throw NotificationSchedulerError.Unavailable(reason: "notifications are not allowed for Cairn")
        }
        if !plan.cancel.isEmpty {
            center.removePendingNotificationRequests(withIdentifiers: plan.cancel)
        }
        let failures = Collected()
        let group = DispatchGroup()
        for notification in plan.schedule {
            group.enter()
            center.add(request(for: notification)) { error in
                if let error { failures.append(error.localizedDescription) }
                group.leave()
            }
        }
        group.wait()
        if let first = failures.first {
            throw NotificationSchedulerError.Unavailable(reason: first)
        }
    }

    private func allowed() -> Bool {
        let answer = Collected()
        let done = DispatchSemaphore(value: 0)
        center.getNotificationSettings { settings in
            switch settings.authorizationStatus {
            case .authorized, .provisional, .ephemeral:
                break
            default:
                answer.append("denied")
            }
            done.signal()
        }
        done.wait()
        return answer.first == nil
    }

    private func request(for notification: PlannedNotification) -> UNNotificationRequest {
        let content = UNMutableNotificationContent()
        content.title = notification.title
        content.body = notification.body
        content.sound = .default
        content.threadIdentifier = notification.kind == .refill ? "refill" : "dose"
        content.userInfo = [
            Self.mark: true,
            "medicationIds": notification.medicationIds,
            "occurrenceIds": notification.occurrenceIds,
        ]
        // The instant as calendar fields in UTC with the zone attached: the trigger fires at
        // that instant whatever zone the device is in by then.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let fireAt = notification.fireAt
        let fields = utc.dateComponents(
            [.calendar, .timeZone, .year, .month, .day, .hour, .minute, .second], from: fireAt)
        let trigger = UNCalendarNotificationTrigger(dateMatching: fields, repeats: false)
        return UNNotificationRequest(identifier: notification.id, content: content, trigger: trigger)
    }
}

/// Strings collected from the notification center's callbacks, which run on its own queue.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func append(_ item: String) {
        lock.lock()
        defer { lock.unlock() }
        items.append(item)
    }

    var first: String? {
        lock.lock()
        defer { lock.unlock() }
        return items.first
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
