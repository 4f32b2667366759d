-- meds: medications and the dose log (synced projections: every column but id nullable), and the
-- device-local notification plan.

-- One row per medication. `regimen` is the JSON text of its phases, `cycle_starts` the JSON text
-- of postponed cycles (see core/src/meds/regimen.rs). `stock` was counted at `stock_counted_at`
-- (ms); the remaining supply is derived from the doses taken since, never decremented in place,
-- so two devices logging doses at once cannot lose a decrement.
CREATE TABLE medications (
    id                    TEXT PRIMARY KEY,
    name                  TEXT,
    strength              TEXT,
    form                  TEXT,
    route                 TEXT,
    instructions          TEXT,
    prescriber            TEXT,
    code                  TEXT,
    time_zone_policy      TEXT,
    fixed_zone            TEXT,
    late_window_minutes   INTEGER,
    stock                 REAL,
    stock_counted_at      INTEGER,
    refill_threshold_days INTEGER,
    regimen               TEXT,
    cycle_starts          TEXT
) STRICT;

-- One row per logged dose. Scheduled doses carry their occurrence key (phase and scheduled
-- local time) and have a deterministic id, so two people logging the same dose write one row.
-- Times are ms since the epoch.
CREATE TABLE dose_log (
    id             TEXT PRIMARY KEY,
    medication_id  TEXT,
    occurrence_key TEXT,
    scheduled_at   INTEGER,
    status         TEXT,
    taken_at       INTEGER,
    amount         REAL,
    reason         TEXT,
    snoozed_until  INTEGER,
    recorded_at    INTEGER
) STRICT;

-- Covering: the day view, adherence and the plan read the log by time without touching the table.
CREATE INDEX dose_log_by_schedule
    ON dose_log(scheduled_at, medication_id, occurrence_key, status, taken_at, snoozed_until);
-- Snoozed doses come back into the plan.
CREATE INDEX dose_log_snoozed ON dose_log(snoozed_until) WHERE status = 'snoozed';
CREATE INDEX dose_log_by_taken ON dose_log(medication_id, taken_at);

-- Device-local, never synced: the reminders handed to the platform's scheduler last time, so the
-- next plan can be sent as a diff (what to schedule, what to cancel).
CREATE TABLE meds_planned_notifications (
    id      TEXT PRIMARY KEY,
    fire_at INTEGER NOT NULL
) STRICT;
