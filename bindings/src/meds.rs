//! The meds API for the apps: medications, today's doses, the dose log, adherence, refills and
//! the notification plan handed to the platform's scheduler.
//!
//! "Now" and the device's zone come from the store's clock (the app's [`crate::Clock`]), so a
//! test moves time and zone through that clock to stand on either side of a DST change or a
//! flight.

use std::sync::Arc;

use cairn_core::meds::rrule::ImportedPhase;
use cairn_core::meds::{
    sync_notifications_through, Adherence, AsNeededWarning, DoseOccurrence, LoggedDose, Medication,
    NotificationPlan, Phase, RefillStatus, SyncMode, TimeZonePolicy,
};
use cairn_core::store::StoreAccess;
use cairn_core::Store;
use jiff::civil::Date;
use jiff::Timestamp;

use crate::error::CairnError;
use crate::store::CairnStore;

/// The platform's local notification scheduler (UNUserNotificationCenter, AlarmManager),
/// implemented by the app. Cairn asks what it holds, then hands it the difference.
#[uniffi::export(with_foreign)]
pub trait NotificationScheduler: Send + Sync {
    /// The ids of Cairn's notifications the platform holds now, not yet fired (only Cairn's:
    /// the app may have others). An id the platform lost (a restore, a force stop, a revoked
    /// exact-alarm permission, a reinstall) must not be reported, so Cairn sets it again.
    fn pending(&self) -> Result<Vec<String>, NotificationSchedulerError>;
    /// Cancels `plan.cancel`, then schedules `plan.schedule` (replacing any notification held
    /// under the same id). An error leaves Cairn's record of the last plan unchanged; the next
    /// sync reconciles with what the platform then holds.
    fn apply(&self, plan: NotificationPlan) -> Result<(), NotificationSchedulerError>;
}

/// What the app's [`NotificationScheduler`] throws.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum NotificationSchedulerError {
    /// The platform refused (permission denied, exact alarms not allowed, …).
    #[error("notification scheduler unavailable: {reason}")]
    Unavailable {
        /// The platform's reason.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for NotificationSchedulerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        NotificationSchedulerError::Unavailable { reason: e.reason }
    }
}

impl From<NotificationSchedulerError> for cairn_core::Error {
    fn from(e: NotificationSchedulerError) -> Self {
        let NotificationSchedulerError::Unavailable { reason } = e;
        cairn_core::Error::Scheduler(reason)
    }
}

/// Adapts the app's scheduler to the core's trait.
struct ForeignScheduler<'a>(&'a dyn NotificationScheduler);

impl cairn_core::meds::NotificationScheduler for ForeignScheduler<'_> {
    fn pending(&self) -> cairn_core::Result<Vec<String>> {
        Ok(self.0.pending()?)
    }

    fn apply(&self, plan: &NotificationPlan) -> cairn_core::Result<()> {
        Ok(self.0.apply(plan.clone())?)
    }
}

/// The core locks the store only around its own steps of a sync, so the store's mutex is free
/// while the app's scheduler runs (and the scheduler may call back into the store).
impl StoreAccess for CairnStore {
    fn with_store<T>(
        &self,
        f: impl FnOnce(&Store) -> cairn_core::Result<T>,
    ) -> cairn_core::Result<T> {
        let mut result = Err(cairn_core::Error::Locked("the store is closed"));
        // `with` fails on its own only when the store is closed; `f`'s result is kept as is.
        let _ = self.with(|s| {
            result = f(s);
            Ok(())
        });
        result
    }
}

impl CairnStore {
    /// Runs the core's sync (plan, apply, commit under the store's notification gate) with the
    /// app's scheduler.
    fn sync_with(
        &self,
        scheduler: &dyn NotificationScheduler,
        max: u32,
        mode: SyncMode,
    ) -> Result<NotificationPlan, CairnError> {
        Ok(sync_notifications_through(
            self,
            &ForeignScheduler(scheduler),
            max,
            mode,
        )?)
    }
}

/// A phase as one RRULE (with its `DTSTART` line), or nothing when one RRULE cannot express it
/// (cycles, as-needed).
#[uniffi::export]
pub fn phase_to_rrule(
    phase: Phase,
    time_zone_policy: TimeZonePolicy,
) -> Result<Option<String>, CairnError> {
    Ok(cairn_core::meds::rrule::phase_to_rrule(
        &phase,
        &time_zone_policy,
    )?)
}

/// A phase from an RRULE, with `dose` `unit` per occurrence, and the time-zone policy its
/// `DTSTART` names (`TZID`: that zone; floating: the wall clock). Without a `DTSTART` line it
/// starts on `default_start` (`YYYY-MM-DD`). It gives the same doses as the RRULE, or fails.
#[uniffi::export]
pub fn phase_from_rrule(
    rule: String,
    dose: f64,
    unit: String,
    default_start: String,
) -> Result<ImportedPhase, CairnError> {
    Ok(cairn_core::meds::rrule::phase_from_rrule(
        &rule,
        dose,
        &unit,
        &default_start,
    )?)
}

#[uniffi::export]
impl CairnStore {
    /// Adds a medication (its `id` is ignored); returns the new id.
    pub fn add_medication(&self, medication: Medication) -> Result<String, CairnError> {
        self.with(|s| s.add_medication(&medication))
    }

    /// Saves an edited medication; only changed fields are written.
    pub fn update_medication(&self, medication: Medication) -> Result<(), CairnError> {
        self.with(|s| s.update_medication(&medication))
    }

    /// Changes the regimen from the first new phase's start on, keeping the past schedule (so
    /// adherence and logged doses stay matched).
    pub fn change_regimen(
        &self,
        medication_id: String,
        phases: Vec<Phase>,
    ) -> Result<(), CairnError> {
        self.with(|s| s.change_regimen(&medication_id, phases))
    }

    /// Deletes a medication (its dose log stays).
    pub fn delete_medication(&self, id: String) -> Result<(), CairnError> {
        self.with(|s| s.delete_medication(&id))
    }

    /// One medication.
    pub fn medication(&self, id: String) -> Result<Medication, CairnError> {
        self.with(|s| s.medication(&id))
    }

    /// Every medication, by name.
    pub fn medications(&self) -> Result<Vec<Medication>, CairnError> {
        self.with(|s| s.medications())
    }

    /// Records a fresh count of the units on hand.
    pub fn set_stock(&self, medication_id: String, units: f64) -> Result<(), CairnError> {
        self.with(|s| s.set_stock(&medication_id, units))
    }

    /// Postpones cycle `cycle` (0-based) of phase `phase` to `new_start`; every later cycle
    /// moves with it.
    pub fn postpone_cycle(
        &self,
        medication_id: String,
        phase: u32,
        cycle: u32,
        new_start: Date,
    ) -> Result<(), CairnError> {
        self.with(|s| s.postpone_cycle(&medication_id, phase, cycle, new_start))
    }

    /// Today's scheduled doses and where each stands.
    pub fn doses_today(&self) -> Result<Vec<DoseOccurrence>, CairnError> {
        self.with(|s| s.doses_today())
    }

    /// The doses of `date` in the device's zone, with their status now.
    pub fn doses_on(&self, date: Date) -> Result<Vec<DoseOccurrence>, CairnError> {
        self.with(|s| s.doses_on(date))
    }

    /// Logs a dose taken at `taken_at` (default: now), matched to the dose it was meant for,
    /// or to `occurrence_id` when given.
    pub fn take_dose(
        &self,
        medication_id: String,
        taken_at: Option<Timestamp>,
        amount: Option<f64>,
        occurrence_id: Option<String>,
    ) -> Result<LoggedDose, CairnError> {
        self.with(|s| s.take_dose(&medication_id, taken_at, amount, occurrence_id.as_deref()))
    }

    /// Logs a scheduled dose as skipped (`occurrence_id`, or the one due now).
    pub fn skip_dose(
        &self,
        medication_id: String,
        occurrence_id: Option<String>,
        reason: Option<String>,
    ) -> Result<LoggedDose, CairnError> {
        self.with(|s| s.skip_dose(&medication_id, occurrence_id.as_deref(), reason.as_deref()))
    }

    /// Snoozes a scheduled dose (`occurrence_id`, or the one due now) for `minutes`.
    pub fn snooze_dose(
        &self,
        medication_id: String,
        occurrence_id: Option<String>,
        minutes: u32,
    ) -> Result<LoggedDose, CairnError> {
        self.with(|s| s.snooze_dose(&medication_id, occurrence_id.as_deref(), minutes))
    }

    /// Withdraws a logged dose (a mistaken tap); the occurrence reads as not logged again.
    pub fn undo_dose(&self, dose_id: String) -> Result<(), CairnError> {
        self.with(|s| s.undo_dose(&dose_id))
    }

    /// What logging an as-needed dose at `at` (default: now) would warn about, without
    /// logging it.
    pub fn check_as_needed(
        &self,
        medication_id: String,
        at: Option<Timestamp>,
    ) -> Result<Vec<AsNeededWarning>, CairnError> {
        self.with(|s| s.check_as_needed(&medication_id, at))
    }

    /// Adherence over the days `from..=to` in the device's zone, as of now.
    pub fn adherence(&self, from: Date, to: Date) -> Result<Adherence, CairnError> {
        self.with(|s| s.adherence(from, to))
    }

    /// The supply of every medication whose stock is tracked.
    pub fn refill_status(&self) -> Result<Vec<RefillStatus>, CairnError> {
        self.with(|s| s.refill_status())
    }

    /// The next `max` notifications (64 on iOS) as a diff against the last committed plan.
    pub fn plan_notifications(&self, max: u32) -> Result<NotificationPlan, CairnError> {
        self.with(|s| s.plan_notifications(max))
    }

    /// Remembers `plan` as what the platform now holds.
    pub fn commit_notification_plan(&self, plan: NotificationPlan) -> Result<(), CairnError> {
        self.with(|s| s.commit_notification_plan(&plan))
    }

    /// Asks the scheduler what it holds, plans, hands it the difference (schedule what is
    /// planned but not held, cancel what is held but no longer planned), and commits once it
    /// accepted. Two syncs at once run one after the other. A scheduler that throws fails with
    /// `Scheduler` and leaves the last plan as it was.
    pub fn sync_notifications(
        &self,
        scheduler: Arc<dyn NotificationScheduler>,
        max: u32,
    ) -> Result<NotificationPlan, CairnError> {
        self.sync_with(scheduler.as_ref(), max, SyncMode::Reconcile)
    }

    /// Cancels every Cairn notification the scheduler holds (or Cairn committed) and schedules
    /// the whole plan again: on start after an update, or when a permission came back.
    pub fn rearm_notifications(
        &self,
        scheduler: Arc<dyn NotificationScheduler>,
        max: u32,
    ) -> Result<NotificationPlan, CairnError> {
        self.sync_with(scheduler.as_ref(), max, SyncMode::Rearm)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    use cairn_core::meds::{DoseStatus, Timing};

    use super::*;

    /// The phone's clock: an instant and an IANA zone the test moves.
    struct PhoneClock(Mutex<(Timestamp, String)>);

    impl PhoneClock {
        fn set(&self, instant: &str) {
            self.0.lock().unwrap().0 = ms(instant);
        }
    }

    impl crate::Clock for PhoneClock {
        fn now(&self) -> Timestamp {
            self.0.lock().unwrap().0
        }
        fn time_zone(&self) -> String {
            self.0.lock().unwrap().1.clone()
        }
    }

    /// A new store in a temporary directory, kept as long as the directory, on a phone in
    /// New York at `instant`.
    fn new_store_at(instant: &str) -> (tempfile::TempDir, Arc<CairnStore>, Arc<PhoneClock>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(PhoneClock(Mutex::new((ms(instant), NEW_YORK.into()))));
        let store = CairnStore::open_with_passphrase(
            dir.path().to_string_lossy().into_owned(),
            "tulip-gravel-93-orbit-canyon".into(),
            Some(clock.clone()),
        )
        .unwrap();
        (dir, store, clock)
    }

    /// A new store on a clock at noon on 7 March 2026 in New York, the day before the clocks go
    /// forward.
    fn new_store() -> (tempfile::TempDir, Arc<CairnStore>, Arc<PhoneClock>) {
        new_store_at("2026-03-07T12:00:00-05:00")
    }

    const NEW_YORK: &str = "America/New_York";

    /// A platform that holds what it is handed (id -> fire time) and records each plan.
    #[derive(Default)]
    struct Recorder {
        plans: Mutex<Vec<NotificationPlan>>,
        held: Mutex<BTreeMap<String, Timestamp>>,
        refuse: bool,
    }

    impl NotificationScheduler for Recorder {
        fn pending(&self) -> Result<Vec<String>, NotificationSchedulerError> {
            Ok(self.held.lock().unwrap().keys().cloned().collect())
        }

        fn apply(&self, plan: NotificationPlan) -> Result<(), NotificationSchedulerError> {
            if self.refuse {
                return Err(NotificationSchedulerError::Unavailable {
                    reason: "exact alarms not allowed".into(),
                });
            }
            let mut held = self.held.lock().unwrap();
            for id in &plan.cancel {
                held.remove(id);
            }
            held.extend(plan.schedule.iter().map(|n| (n.id.clone(), n.fire_at)));
            self.plans.lock().unwrap().push(plan);
            Ok(())
        }
    }

    impl Recorder {
        /// The notifications due before `until` fire and leave the platform.
        fn fire_until(&self, until: Timestamp) {
            self.held.lock().unwrap().retain(|_, at| *at >= until);
        }

        fn holds(&self) -> BTreeSet<String> {
            self.held.lock().unwrap().keys().cloned().collect()
        }
    }

    fn ids(plan: &[cairn_core::meds::PlannedNotification]) -> BTreeSet<String> {
        plan.iter().map(|n| n.id.clone()).collect()
    }

    fn ms(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn capecitabine() -> Medication {
        Medication::new(
            "Capecitabine",
            vec![Phase {
                dose: 3.0,
                unit: "tablet".into(),
                timing: Timing::Cycle {
                    days_on: 14,
                    days_off: 7,
                    times: vec!["08:00".into(), "20:00".into()],
                    cycles: None,
                },
                start: "2026-03-02".into(),
                end: None,
                count: None,
            }],
        )
    }

    #[test]
    fn a_cycle_planned_across_dst_through_the_foreign_scheduler() {
        let (_dir, store, clock) = new_store();
        let id = store.add_medication(capecitabine()).unwrap();
        let recorder = Arc::new(Recorder::default());
        let plan = store.sync_notifications(recorder.clone(), 3).unwrap();
        let local: Vec<&str> = plan
            .planned
            .iter()
            .map(|n| &n.fire_at_local[..25])
            .collect();
        assert_eq!(
            local,
            [
                "2026-03-07T20:00:00-05:00",
                "2026-03-08T08:00:00-04:00",
                "2026-03-08T20:00:00-04:00"
            ]
        );
        assert_eq!(recorder.plans.lock().unwrap().len(), 1);

        clock.set("2026-03-07T20:05:00-05:00");
        let logged = store.take_dose(id, None, None, None).unwrap();
        assert_eq!(logged.status, DoseStatus::Taken);

        // The platform refuses: an error, and the diff is sent again next time.
        let refusing = Arc::new(Recorder {
            refuse: true,
            ..Default::default()
        });
        clock.set("2026-03-07T20:06:00-05:00");
        let err = store.sync_notifications(refusing, 3).unwrap_err();
        assert!(matches!(err, CairnError::Scheduler(_)), "{err:?}");
        recorder.fire_until(ms("2026-03-07T20:06:00-05:00"));
        let again = store.sync_notifications(recorder.clone(), 3).unwrap();
        // The 20:00 reminder has fired (nothing to cancel for it); the window moved on by one,
        // so the old last slot is handed over again without its runs-dry note.
        assert_eq!(again.cancel, [plan.planned[2].id.clone()]);
        assert_eq!(again.schedule.len(), 2);
        assert!(again.schedule[1]
            .fire_at_local
            .starts_with("2026-03-09T08:00:00-04:00"));
        assert!(again.runs_dry && again.schedule[1].last_in_window);
        assert_eq!(recorder.plans.lock().unwrap().len(), 2);
        assert_eq!(recorder.holds(), ids(&again.planned));

        clock.set("2026-03-08T00:00:00-05:00");
        let a = store
            .adherence(jiff::civil::date(2026, 3, 2), jiff::civil::date(2026, 3, 7))
            .unwrap();
        // The medication was added at noon on the 7th: the doses nobody logged before then are
        // not tracked, the one logged counts.
        assert_eq!(a.overall.taken_on_time, 1);
        assert_eq!((a.overall.scheduled, a.overall.missed), (1, 0));
    }

    /// A scheduler that reads the store while it is being handed the plan.
    struct CallsBack(Arc<CairnStore>, Mutex<usize>);

    impl NotificationScheduler for CallsBack {
        fn pending(&self) -> Result<Vec<String>, NotificationSchedulerError> {
            Ok(Vec::new())
        }

        fn apply(&self, plan: NotificationPlan) -> Result<(), NotificationSchedulerError> {
            let meds =
                self.0
                    .medications()
                    .map_err(|e| NotificationSchedulerError::Unavailable {
                        reason: e.to_string(),
                    })?;
            *self.1.lock().unwrap() += meds.len() + plan.schedule.len();
            Ok(())
        }
    }

    #[test]
    fn a_scheduler_may_call_back_into_the_store() {
        let (_dir, store, _clock) = new_store();
        store.add_medication(capecitabine()).unwrap();
        let scheduler = Arc::new(CallsBack(store.clone(), Mutex::new(0)));
        store.sync_notifications(scheduler.clone(), 4).unwrap();
        assert_eq!(*scheduler.1.lock().unwrap(), 1 + 4);
    }

    #[test]
    fn a_restored_phone_holding_nothing_gets_every_reminder_again() {
        let (_dir, store, _clock) = new_store();
        store.add_medication(capecitabine()).unwrap();
        let old_phone = Arc::new(Recorder::default());
        let first = store.sync_notifications(old_phone.clone(), 8).unwrap();
        assert_eq!(old_phone.holds(), ids(&first.planned));
        // The store comes back on a phone whose platform holds nothing.
        let new_phone = Arc::new(Recorder::default());
        let restored = store.sync_notifications(new_phone.clone(), 8).unwrap();
        assert_eq!(ids(&restored.schedule), ids(&first.planned));
        assert_eq!(new_phone.holds(), ids(&first.planned));
        assert!(store
            .sync_notifications(new_phone, 8)
            .unwrap()
            .is_unchanged());
    }

    #[test]
    fn a_rearm_cancels_what_is_held_and_schedules_the_whole_plan() {
        let (_dir, store, _clock) = new_store();
        store.add_medication(capecitabine()).unwrap();
        let phone = Arc::new(Recorder::default());
        let first = store.sync_notifications(phone.clone(), 4).unwrap();
        let rearm = store.rearm_notifications(phone.clone(), 4).unwrap();
        assert_eq!(
            rearm.cancel.iter().cloned().collect::<BTreeSet<_>>(),
            ids(&first.planned)
        );
        assert_eq!(rearm.schedule, rearm.planned);
        assert_eq!(phone.holds(), ids(&rearm.planned));
        assert_eq!(phone.plans.lock().unwrap().len(), 2);
    }

    /// A platform that cannot even say what it holds.
    struct Unreadable;

    impl NotificationScheduler for Unreadable {
        fn pending(&self) -> Result<Vec<String>, NotificationSchedulerError> {
            Err(NotificationSchedulerError::Unavailable {
                reason: "notifications are off".into(),
            })
        }

        fn apply(&self, _: NotificationPlan) -> Result<(), NotificationSchedulerError> {
            Ok(())
        }
    }

    #[test]
    fn a_scheduler_that_cannot_list_what_it_holds_is_a_scheduler_error() {
        let (_dir, store, _clock) = new_store();
        store.add_medication(capecitabine()).unwrap();
        let err = store
            .sync_notifications(Arc::new(Unreadable), 4)
            .unwrap_err();
        assert!(matches!(err, CairnError::Scheduler(_)), "{err:?}");
        // Nothing was committed: the next plan still schedules everything.
        assert_eq!(store.plan_notifications(4).unwrap().schedule.len(), 4);
    }

    #[test]
    fn bad_qa_input_is_invalid() {
        let (_dir, store, clock) = new_store();
        clock.0.lock().unwrap().1 = "Not/AZone".into();
        assert!(matches!(
            store.plan_notifications(64),
            Err(CairnError::Invalid(_))
        ));
        clock.0.lock().unwrap().1 = NEW_YORK.into();
        let mut bad = capecitabine();
        bad.phases[0].timing = Timing::EveryNHours {
            every_hours: 0,
            anchor: "08:00".into(),
        };
        assert!(matches!(
            store.add_medication(bad),
            Err(CairnError::Invalid(_))
        ));
        assert_eq!(
            phase_to_rrule(capecitabine().phases[0].clone(), TimeZonePolicy::WallClock).unwrap(),
            None
        );
    }
}
