//! What the sync commands print.

use cairn_core::sync::{
    DeviceSummary, LinkInvite, SyncObserver, SyncPhase, SyncProgress, SyncReport,
};
use indicatif::{ProgressBar, ProgressStyle};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use crate::terminal::{json_text, pretty_json, safe_println};

/// The recovery kit, with what to do with it.
pub(super) fn kit(kit: &str) {
    safe_println!("Your recovery kit (print it and keep it somewhere safe; anyone who has it can");
    safe_println!("read your record, and without it a lost set of devices cannot be recovered):");
    safe_println!();
    safe_println!("    {kit}");
    safe_println!();
}

/// The link code and QR code, for a person or as JSON lines.
pub(super) fn invite(invite: &LinkInvite, json: bool) {
    if json {
        #[derive(serde::Serialize)]
        struct Invite<'a> {
            code: &'a str,
            qr: &'a str,
        }
        println!(
            "{}",
            json_text(
                serde_json::to_string(&Invite {
                    code: &invite.code,
                    qr: &invite.qr
                })
                .expect("text serialises")
            )
        );
        return;
    }
    safe_println!(
        "On the new device, run:  cairn device join {} --server …",
        invite.code
    );
    safe_println!("or scan:");
    if let Ok(qr) = QrCode::new(invite.qr.as_bytes()) {
        safe_println!("{}", qr.render::<Dense1x2>().quiet_zone(true).build());
    }
    safe_println!("Waiting for the new device (up to 10 minutes)…");
}

/// The device that was linked.
pub(super) fn linked(device: &str, json: bool) {
    if json {
        #[derive(serde::Serialize)]
        struct Linked<'a> {
            linked: &'a str,
        }
        println!(
            "{}",
            json_text(serde_json::to_string(&Linked { linked: device }).expect("text serialises"))
        );
    } else {
        safe_println!("Linked device {device}: it now syncs everything this one does.");
    }
}

/// The account's devices.
pub(super) fn devices(devices: &[DeviceSummary], json: bool) {
    if json {
        println!("{}", pretty_json(devices));
        return;
    }
    for d in devices {
        let mut notes = Vec::new();
        if d.this_device {
            notes.push("this device".to_owned());
        }
        if d.revoked {
            notes.push("revoked".to_owned());
        }
        if let Some(seen) = d.last_seen_at {
            notes.push(format!("last seen {seen}"));
        }
        safe_println!(
            "{}  added {}  {}",
            d.id,
            d.added_at.strftime("%Y-%m-%d"),
            notes.join(", ")
        );
    }
}

/// What a sync did.
pub(super) fn report(r: &SyncReport, json: bool) {
    if json {
        println!("{}", pretty_json(r));
    } else {
        safe_println!(
            "Synced: {} change(s) in {} batch(es) received, {} batch(es) sent ({} ms{}).",
            r.pulled_changes,
            r.pulled_batches,
            r.pushed_batches,
            r.elapsed_ms,
            if r.retries > 0 {
                format!(
                    ", {} retr{}",
                    r.retries,
                    if r.retries == 1 { "y" } else { "ies" }
                )
            } else {
                String::new()
            }
        );
    }
}

/// A progress bar on stderr (nothing when `--json` or when stderr is not a terminal).
pub(super) struct SyncBar(Option<ProgressBar>);

impl SyncBar {
    pub(super) fn new(quiet: bool) -> Self {
        if quiet {
            return Self(None);
        }
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{msg:10} [{bar:30}] {pos}/{len}") {
            bar.set_style(style.progress_chars("=> "));
        }
        Self(Some(bar))
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl SyncObserver for SyncBar {
    fn progress(&self, p: SyncProgress) {
        let Some(bar) = &self.0 else { return };
        bar.set_message(match p.phase {
            SyncPhase::Connecting => "connecting",
            SyncPhase::Pulling => "receiving",
            SyncPhase::Pushing => "sending",
            SyncPhase::Retrying => "retrying",
            SyncPhase::Done => "done",
        });
        bar.set_length(p.total.unwrap_or(p.done));
        bar.set_position(p.done);
    }
}
