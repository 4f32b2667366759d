//! The notification plan: which local notifications the platform should hold, as a diff.
//!
//! Platforms keep a limited number of pending local notifications (64 on iOS), so the plan is
//! the soonest `max` of them from now. Doses due in the same minute share one notification.
//! Ids are derived from what a notification says (its minute and its doses), so an unchanged
//! reminder keeps its id from one plan to the next and the diff only carries real changes.
//!
//! The last plan handed to the platform is kept in `meds_planned_notifications`, a device-local
//! table that sync never carries: each device schedules its own notifications. The platform is
//! not trusted to still hold it: a restore, a force stop, a revoked exact-alarm permission or a
//! reinstall empties it without telling anyone. So [`sync_notifications_through`] asks the
//! platform what it holds ([`NotificationScheduler::pending`]) and reconciles every difference,
//! and a full re-arm ([`SyncMode::Rearm`]) exists beside the diff. Planning, applying and
//! committing run under one gate per store, so two syncs at once cannot commit a stale plan.
//!
//! A plan of `max` slots reaches only so far (three medications four times a day fill 64 slots
//! in about five days). When reminders are due after its last slot, that slot says so: its text
//! asks the patient to open Cairn, and the plan reports how far it reaches.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rusqlite::params;
use serde::Serialize;

use super::calendar::{add_days, instant_at, resolve, shift};
use super::compiled::CTiming;
use super::dose_log::{DoseRows, Logged};
use super::medication::Loaded;
use super::occurrence::{Occ, expand_into, occurrence_id};
use crate::error::{Error, Result};
use crate::ids::deterministic_id;
use crate::store::{Store, StoreAccess};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum NotificationKind {
    /// Doses are due.
    Dose,
    /// A medication's supply is running low.
    Refill,
}

/// One local notification for the platform to schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PlannedNotification {
    /// A stable id: the same notification has the same id in every plan.
    pub id: String,
    /// Dose reminder or refill alert.
    pub kind: NotificationKind,
    /// When to fire (whole minutes).
    pub fire_at: Timestamp,
    /// When to fire on the device's clock, RFC 9557.
    pub fire_at_local: String,
    /// The notification's title.
    pub title: String,
    /// The notification's body.
    pub body: String,
    /// The medications it is about.
    pub medication_ids: Vec<String>,
    /// The dose occurrences it is about (empty for a refill alert).
    pub occurrence_ids: Vec<String>,
    /// The last slot of a plan that runs dry: reminders are due after it that the platform's
    /// slots could not hold, so its text asks the patient to open Cairn. Part of its id, so the
    /// platform is handed the new text when a slot becomes (or stops being) the last.
    pub last_in_window: bool,
}

/// The notifications to schedule and cancel so that the platform holds exactly `planned`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NotificationPlan {
    /// New notifications to hand to the platform.
    pub schedule: Vec<PlannedNotification>,
    /// Ids of pending notifications to withdraw.
    pub cancel: Vec<String>,
    /// Every notification of the plan, soonest first (at most the maximum asked for).
    pub planned: Vec<PlannedNotification>,
    /// Every reminder due before this instant is in `planned`. When the
    /// plan runs dry it is the last slot's time; otherwise the end of the planning horizon.
    pub reaches_until: Timestamp,
    /// Whether reminders are due after the last slot that the plan could not hold: unless
    /// Cairn runs again before `reaches_until`, reminders stop there.
    pub runs_dry: bool,
}

impl NotificationPlan {
    /// Whether the platform already holds exactly this plan.
    pub fn is_unchanged(&self) -> bool {
        self.schedule.is_empty() && self.cancel.is_empty()
    }
}

/// The platform's local notification scheduler, implemented by the app.
///
/// It must not start another sync from inside its own calls: the sync that called it holds the
/// store's notification gate until it returns.
pub trait NotificationScheduler {
    /// The ids of Cairn's notifications the platform holds now, not yet fired. An id the
    /// platform lost (after a restore, a force stop, a reinstall) must not be reported.
    fn pending(&self) -> Result<Vec<String>>;
    /// Cancels `plan.cancel`, then schedules `plan.schedule` (replacing any notification held
    /// under the same id). An error leaves the stored plan as it was; the next sync reconciles
    /// with what the platform then holds.
    fn apply(&self, plan: &NotificationPlan) -> Result<()>;
}

/// How a sync brings the platform's notifications in line with the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Schedules what is planned but not held; cancels what is held (or was committed and is
    /// still ahead) but no longer planned.
    Reconcile,
    /// Cancels every Cairn notification held or committed, then schedules the whole plan: for
    /// when the platform's word cannot be trusted (an app update, a changed permission).
    Rearm,
}

/// The notification gate of the store in `store.dir()`, shared by every handle on it in this
/// process while a sync holds it.
fn notification_gate(store: &Store) -> Arc<Mutex<()>> {
    static GATES: Mutex<Vec<(PathBuf, Weak<Mutex<()>>)>> = Mutex::new(Vec::new());
    let dir = std::fs::canonicalize(store.dir()).unwrap_or_else(|_| store.dir().to_path_buf());
    let mut gates = GATES.lock().unwrap_or_else(PoisonError::into_inner);
    gates.retain(|(_, gate)| gate.strong_count() > 0);
    if let Some(gate) = gates
        .iter()
        .find(|(d, _)| *d == dir)
        .and_then(|(_, gate)| gate.upgrade())
    {
        return gate;
    }
    let gate = Arc::new(Mutex::new(()));
    gates.push((dir, Arc::downgrade(&gate)));
    gate
}

/// Asks the platform what it holds, plans as of the store's clock, hands the difference to
/// `scheduler`, and commits the plan once the scheduler accepted it — all under the store's
/// notification gate, so a second sync waits and then plans against what this one left.
pub fn sync_notifications_through<A: StoreAccess + ?Sized>(
    access: &A,
    scheduler: &dyn NotificationScheduler,
    max: u32,
    mode: SyncMode,
) -> Result<NotificationPlan> {
    let gate = access.with_store(|s| Ok(notification_gate(s)))?;
    // A scheduler that panicked cannot have left a half-committed plan: the commit is one
    // transaction, and the next sync reconciles with the platform anyway.
    let _gate = gate.lock().unwrap_or_else(PoisonError::into_inner);
    let pending: BTreeSet<String> = scheduler.pending()?.into_iter().collect();
    let plan = access.with_store(|s| {
        let now = s.clock().now_zoned();
        let (planned, reach) = s.planned_notifications(now.timestamp(), now.time_zone(), max)?;
        s.diff(
            planned,
            reach,
            now.timestamp(),
            Held::Platform(&pending, mode),
        )
    })?;
    if !plan.is_unchanged() {
        scheduler.apply(&plan)?;
        access.with_store(|s| s.commit_notification_plan(&plan))?;
    }
    Ok(plan)
}

/// What a plan is diffed against.
enum Held<'a> {
    /// The last plan committed (nothing is known of the platform).
    Committed,
    /// What the platform reports holding, and how to reconcile with it.
    Platform(&'a BTreeSet<String>, SyncMode),
}

/// How far a plan reaches: `(reaches_until, runs_dry)`.
type Reach = (Timestamp, bool);

/// What the last slot of a plan that runs dry adds to its text.
const LAST_REMINDER_NOTE: &str = "the last reminder set: open Cairn to keep them coming.";

/// The most notifications a plan may hold.
const MAX_NOTIFICATIONS: u32 = 1000;
/// How far ahead a plan looks at most.
const MAX_HORIZON_DAYS: i64 = 400;

/// One dose in a minute's notification.
struct Entry {
    med: usize,
    phase: usize,
    key: EntryKey,
    dose: f64,
}

/// Where an entry's occurrence key comes from; ids are only computed for the notifications kept.
enum EntryKey {
    /// A scheduled occurrence.
    Occ(Occ),
    /// A snoozed dose, by its logged key.
    Logged(String),
}

impl EntryKey {
    fn occurrence_id(&self, medication_id: &str) -> String {
        match self {
            EntryKey::Occ(o) => occurrence_id(medication_id, &o.key()),
            EntryKey::Logged(key) => occurrence_id(medication_id, key),
        }
    }
}

fn minute_floor(t: Timestamp) -> i64 {
    t.as_millisecond().div_euclid(60_000) * 60_000
}

fn fmt_amount(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e9 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

impl Store {
    /// The plan for the next `max` notifications as of the clock, diffed against the last plan
    /// committed. Nothing is stored: see [`Store::commit_notification_plan`].
    pub fn plan_notifications(&self, max: u32) -> Result<NotificationPlan> {
        let now = self.clock().now_zoned();
        self.plan_notifications_at(now.timestamp(), now.time_zone(), max)
    }

    /// [`Store::plan_notifications`] with an explicit instant and device zone.
    pub(crate) fn plan_notifications_at(
        &self,
        now: Timestamp,
        zone: &TimeZone,
        max: u32,
    ) -> Result<NotificationPlan> {
        let (planned, reach) = self.planned_notifications(now, zone, max)?;
        self.diff(planned, reach, now, Held::Committed)
    }

    /// The next `max` notifications as of `now`, soonest first, and how far they reach.
    fn planned_notifications(
        &self,
        now: Timestamp,
        zone: &TimeZone,
        max: u32,
    ) -> Result<(Vec<PlannedNotification>, Reach)> {
        if max == 0 || max > MAX_NOTIFICATIONS {
            return Err(Error::invalid("max", "between 1 and 1000 notifications"));
        }
        let max = max as usize;
        let meds = self.loaded_medications()?;
        let mut planned = self.refill_alerts(&meds, now, zone)?;
        let scheduled = meds.iter().any(|m| {
            m.compiled
                .phases
                .iter()
                .any(|p| !matches!(p.timing, CTiming::AsNeeded { .. }))
        });
        let snoozed = self.snoozed_after(now)?;
        // Logged doses (taken, skipped, snoozed) are left out; snoozed ones come back at their
        // new time. The horizon grows until it holds more than `max` minutes of reminders (one
        // more tells whether the plan runs dry), each pass expanding only the days the last one
        // did not cover.
        let horizon = shift(now, SignedDuration::from_hours(24 * MAX_HORIZON_DAYS));
        let rows = self.dose_rows(now, horizon)?;
        let mut groups: BTreeMap<i64, Vec<Entry>> = BTreeMap::new();
        add_snoozed(&meds, &snoozed, &rows, &mut groups);
        let mut occs: Vec<Occ> = Vec::new();
        let mut from = now;
        let mut days = 2;
        loop {
            let to = shift(now, SignedDuration::from_hours(24 * days));
            for (i, m) in meds.iter().enumerate() {
                occs.clear();
                expand_into(&m.compiled, zone, from, to, &mut occs);
                for o in &occs {
                    // Taken, skipped or snoozed (snoozed ones were added at their new time);
                    // an undone log reminds again.
                    if rows
                        .get(&m.med.id, o)
                        .is_some_and(|r| r.status != Logged::Other)
                    {
                        continue;
                    }
                    groups.entry(minute_floor(o.at)).or_default().push(Entry {
                        med: i,
                        phase: usize::from(o.phase),
                        key: EntryKey::Occ(*o),
                        dose: o.dose,
                    });
                }
            }
            from = to;
            if !scheduled || groups.len() > max || days >= MAX_HORIZON_DAYS {
                break;
            }
            days = (days * 4).min(MAX_HORIZON_DAYS);
        }
        for (minute, entries) in groups.into_iter().take(max + 1) {
            planned.push(dose_notification(&meds, minute, entries, zone));
        }
        planned.sort_by(|a, b| (a.fire_at, &a.id).cmp(&(b.fire_at, &b.id)));
        let runs_dry = planned.len() > max;
        planned.truncate(max);
        let mut reaches_until = horizon;
        if runs_dry && let Some(last) = planned.last_mut() {
            last.id = deterministic_id("last reminder", &[&last.id]);
            last.body = format!("{} — {LAST_REMINDER_NOTE}", last.body);
            last.last_in_window = true;
            reaches_until = last.fire_at;
        }
        Ok((planned, (reaches_until, runs_dry)))
    }

    /// Remembers `plan` as what the platform now holds.
    pub fn commit_notification_plan(&self, plan: &NotificationPlan) -> Result<()> {
        // Device-local state, not synced: written directly, not through the field-change log.
        let tx = self.conn().unchecked_transaction()?;
        tx.execute("DELETE FROM meds_planned_notifications", [])?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO meds_planned_notifications(id, fire_at) VALUES (?1, ?2)",
            )?;
            for n in &plan.planned {
                stmt.execute(params![n.id, n.fire_at.as_millisecond()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Reconciles the platform's notifications with the plan: see
    /// [`sync_notifications_through`].
    pub fn sync_notifications(
        &self,
        scheduler: &dyn NotificationScheduler,
        max: u32,
    ) -> Result<NotificationPlan> {
        sync_notifications_through(self, scheduler, max, SyncMode::Reconcile)
    }

    /// Cancels every Cairn notification and schedules the whole plan again (see
    /// [`SyncMode::Rearm`]).
    pub fn rearm_notifications(
        &self,
        scheduler: &dyn NotificationScheduler,
        max: u32,
    ) -> Result<NotificationPlan> {
        sync_notifications_through(self, scheduler, max, SyncMode::Rearm)
    }

    /// The plan as a difference from what is `held`.
    fn diff(
        &self,
        planned: Vec<PlannedNotification>,
        (reaches_until, runs_dry): Reach,
        now: Timestamp,
        held: Held<'_>,
    ) -> Result<NotificationPlan> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id, fire_at FROM meds_planned_notifications")?;
        let last: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        // Notifications whose time has passed have fired already; there is nothing to cancel.
        let ahead = last
            .iter()
            .filter(|(_, at)| *at >= minute_floor(now))
            .map(|(id, _)| id.as_str());
        let new_ids: HashSet<&str> = planned.iter().map(|n| n.id.as_str()).collect();
        let (schedule, cancel): (Vec<PlannedNotification>, BTreeSet<&str>) = match held {
            Held::Committed => {
                let last_ids: HashSet<&str> = last.iter().map(|(id, _)| id.as_str()).collect();
                let schedule = planned
                    .iter()
                    .filter(|n| !last_ids.contains(n.id.as_str()))
                    .cloned()
                    .collect();
                let cancel = ahead.filter(|id| !new_ids.contains(id)).collect();
                (schedule, cancel)
            }
            Held::Platform(pending, mode) => {
                let any_held = pending.iter().map(String::as_str).chain(ahead);
                match mode {
                    SyncMode::Reconcile => (
                        planned
                            .iter()
                            .filter(|n| !pending.contains(&n.id))
                            .cloned()
                            .collect(),
                        any_held.filter(|id| !new_ids.contains(id)).collect(),
                    ),
                    SyncMode::Rearm => (planned.clone(), any_held.collect()),
                }
            }
        };
        let cancel = cancel.into_iter().map(str::to_owned).collect();
        Ok(NotificationPlan {
            schedule,
            cancel,
            planned,
            reaches_until,
            runs_dry,
        })
    }

    /// Snoozed doses that come back after `now`: (medication id, occurrence key, until ms).
    fn snoozed_after(&self, now: Timestamp) -> Result<Vec<(String, String, i64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT medication_id, occurrence_key, snoozed_until FROM dose_log
             WHERE status = 'snoozed' AND snoozed_until >= ?1
               AND medication_id IS NOT NULL AND occurrence_key IS NOT NULL",
        )?;
        let rows = stmt
            .query_map([minute_floor(now)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Refill alerts: when a medication's projected supply falls below its threshold.
    fn refill_alerts(
        &self,
        meds: &[Loaded],
        now: Timestamp,
        zone: &TimeZone,
    ) -> Result<Vec<PlannedNotification>> {
        let mut out = Vec::new();
        for m in meds {
            let Some(threshold) = m.med.refill_threshold_days else {
                continue;
            };
            let Some(status) = self.refill_of(m, now, zone)? else {
                continue;
            };
            if status.daily_use <= 0.0 {
                continue;
            }
            let limit = f64::from(threshold) * status.daily_use;
            // The first upcoming dose after which the supply is below the threshold; if it already
            // is, the next dose. A medication without upcoming doses is reminded at 09:00.
            let mut occs = Vec::new();
            expand_into(
                &m.compiled,
                zone,
                now,
                shift(now, SignedDuration::from_hours(24 * 28)),
                &mut occs,
            );
            let mut remaining = status.remaining;
            let mut fire = None;
            for o in &occs {
                if remaining < limit {
                    fire = Some(o.at);
                    break;
                }
                remaining -= o.dose;
                if remaining < limit {
                    fire = Some(o.at);
                    break;
                }
            }
            if fire.is_none() && status.needs_refill {
                let today = zone.to_datetime(now).date();
                let nine = jiff::civil::Time::constant(9, 0, 0, 0);
                let mut at = resolve(zone, today.to_datetime(nine)).unwrap_or(now);
                if at < now {
                    at = resolve(zone, add_days(today, 1).to_datetime(nine)).unwrap_or(now);
                }
                fire = Some(at);
            }
            let Some(fire) = fire else {
                continue;
            };
            let fire_ms = minute_floor(fire);
            let counted = m
                .med
                .stock_counted_at
                .map_or(0, |t| t.as_millisecond())
                .to_string();
            let days = (remaining / status.daily_use).max(0.0).floor();
            out.push(PlannedNotification {
                id: deterministic_id("refill alert", &[&m.med.id, &counted, &fire_ms.to_string()]),
                kind: NotificationKind::Refill,
                fire_at: instant_at(fire_ms),
                fire_at_local: local_text(fire_ms, zone),
                title: "Time to refill".to_owned(),
                body: format!("{}: about {} days left", m.med.name, days as i64),
                medication_ids: vec![m.med.id.clone()],
                occurrence_ids: Vec::new(),
                last_in_window: false,
            });
        }
        Ok(out)
    }
}

fn local_text(ms: i64, zone: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned_datetime(zone.clone()).to_string())
        .unwrap_or_default()
}

/// Adds snoozed doses at their new time, unless they were taken or skipped since.
fn add_snoozed(
    meds: &[Loaded],
    snoozed: &[(String, String, i64)],
    rows: &DoseRows,
    groups: &mut BTreeMap<i64, Vec<Entry>>,
) {
    for (med_id, key, until) in snoozed {
        let Some(i) = meds.iter().position(|m| &m.med.id == med_id) else {
            continue;
        };
        if rows.get_by_key(med_id, key).is_some_and(|r| r.settled()) {
            continue;
        }
        let Ok(at) = Timestamp::from_millisecond(*until) else {
            continue;
        };
        let phase = key
            .split('|')
            .next()
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(0);
        let dose = meds[i].compiled.phases.get(phase).map_or(1.0, |p| p.dose);
        groups.entry(minute_floor(at)).or_default().push(Entry {
            med: i,
            phase,
            key: EntryKey::Logged(key.clone()),
            dose,
        });
    }
}

fn dose_notification(
    meds: &[Loaded],
    minute: i64,
    entries: Vec<Entry>,
    zone: &TimeZone,
) -> PlannedNotification {
    let mut entries: Vec<(String, Entry)> = entries
        .into_iter()
        .map(|e| (e.key.occurrence_id(&meds[e.med].med.id), e))
        .collect();
    entries.sort_by(|(a_id, a), (b_id, b)| {
        (&meds[a.med].med.name, a_id).cmp(&(&meds[b.med].med.name, b_id))
    });
    entries.dedup_by(|a, b| a.0 == b.0);
    let mut parts = vec!["dose".to_owned(), minute.to_string()];
    parts.extend(entries.iter().map(|(id, _)| id.clone()));
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let id = deterministic_id("reminder", &refs);
    let lines: Vec<String> = entries
        .iter()
        .map(|(_, e)| {
            let m = &meds[e.med].med;
            let unit = m.phases.get(e.phase).map_or("", |p| p.unit.as_str());
            format!("{} {} {}", m.name, fmt_amount(e.dose), unit)
                .trim_end()
                .to_owned()
        })
        .collect();
    let mut medication_ids: Vec<String> = entries
        .iter()
        .map(|(_, e)| meds[e.med].med.id.clone())
        .collect();
    medication_ids.dedup();
    let title = if entries.len() == 1 {
        format!("Time for {}", meds[entries[0].1.med].med.name)
    } else {
        format!("Time for {} doses", entries.len())
    };
    PlannedNotification {
        id,
        kind: NotificationKind::Dose,
        fire_at: instant_at(minute),
        fire_at_local: local_text(minute, zone),
        title,
        body: lines.join(" · "),
        medication_ids,
        occurrence_ids: entries.into_iter().map(|(id, _)| id).collect(),
        last_in_window: false,
    }
}
