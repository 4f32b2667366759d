//! The flags of the sync commands.

use clap::{Args, Subcommand};

/// `cairn account …`
#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Creates your account on a relay with this device as its first, and syncs. Prints the
    /// recovery kit: print it and keep it safe, it restores everything if every device is lost.
    Create {
        /// The relay's address (e.g. https://relay.example or http://127.0.0.1:8080).
        #[arg(long)]
        server: String,
    },
    /// Prints this account's recovery kit again.
    Kit,
    /// Restores your account from its recovery kit as a new device (reads the kit from
    /// CAIRN_RECOVERY_KIT or asks), creating the store if there is none, and syncs.
    Recover {
        /// The relay's address.
        #[arg(long)]
        server: String,
    },
}

/// `cairn device …`
#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// Shows a one-time code (and a QR code) to type on a new device, and waits for it.
    Link {
        /// Print the code and QR text as JSON lines instead of for a person.
        #[arg(long)]
        json: bool,
    },
    /// Joins the account whose device shows CODE, making a new store here a copy of it, and
    /// syncs.
    Join {
        /// The code the other device shows (`K7M2Q9XWPA-4821-9375`), or its QR code's text.
        code: String,
        /// The relay's address.
        #[arg(long)]
        server: String,
    },
    /// Lists this account's devices.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revokes a device (lost or sold): nothing it sends from now on is accepted.
    Revoke {
        /// The device's id (or the first 8 characters of it).
        device: String,
    },
}

/// `cairn sync`
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Reach the relay at this address for this run (through a proxy, say).
    #[arg(long)]
    pub(crate) server: Option<String>,
    /// Print a JSON summary instead of a progress bar.
    #[arg(long)]
    pub(crate) json: bool,
}
