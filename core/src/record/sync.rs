//! The sync half of the log: changes from other devices in, local changes out.
//!
//! A sync engine attaches here: it pushes what [`Store::outbox`] returns, acknowledges what the
//! relay stored with [`Store::acknowledge_outbox`], and hands what it pulls to
//! [`Store::apply_remote`].

use std::collections::{HashMap, HashSet};

use super::batch::{Batch, erase_wal};
use super::change::{FieldChange, Op};
use super::rows::{Write, read_record, tombstoned};
use super::state::Peers;
use crate::error::Result;
use crate::hlc::Hlc;
use crate::store::{EntityDef, Store, meta_set};

/// One record's changes in a remote batch: entity, id, and each change with its HLC's canonical
/// text.
pub(super) type RecordChanges<'c> = (&'c str, &'c str, Vec<(&'c FieldChange, String)>);

/// Local changes waiting to be pushed, read by [`Store::outbox`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outbox {
    /// The changes, each with the current merged value of its field.
    pub changes: Vec<FieldChange>,
    /// The last outbox entry read: once the server has stored `changes`, pass it to
    /// [`Store::acknowledge_outbox`]. `None` when the outbox is empty.
    pub up_to: Option<i64>,
}

impl Store {
    /// Applies changes received from other devices, in one transaction. Order and repetition do
    /// not matter. Returns how many changed the local state.
    pub fn apply_remote(&self, changes: &[FieldChange]) -> Result<usize> {
        self.apply_remote_then(changes, |_| Ok(()))
    }

    /// [`Store::apply_remote`], with `then` writing in the same transaction (the sync engine's
    /// cursor and chain positions, so they move exactly when the changes land).
    pub(crate) fn apply_remote_then(
        &self,
        changes: &[FieldChange],
        then: impl FnOnce(&rusqlite::Connection) -> Result<()>,
    ) -> Result<usize> {
        let tx = self.conn().unchecked_transaction()?;
        let mut clock = self.last_hlc();
        // Changes grouped by record, so each record's state is read and written once.
        // Each change with its HLC in canonical text, which is what orders and is stored.
        let mut groups: Vec<RecordChanges<'_>> = Vec::new();
        let mut index: HashMap<(&str, &str), usize> = HashMap::new();
        for change in changes {
            let hlc = Hlc::parse(&change.hlc)?;
            clock = clock.observe(&hlc);
            let key = (change.entity.as_str(), change.id.as_str());
            let i = *index.entry(key).or_insert_with(|| {
                groups.push((key.0, key.1, Vec::new()));
                groups.len() - 1
            });
            groups[i].2.push((change, hlc.to_string()));
        }
        let mut batch = Batch::default();
        let mut applied = 0;
        for (entity, id, group) in groups {
            let def = self.entity(entity);
            let mut writes = Vec::new();
            for (change, hlc) in &group {
                match &change.op {
                    Op::Delete => {
                        if batch.delete(&tx, def, entity, id, hlc, &change.author)? {
                            applied += 1;
                        }
                    }
                    Op::Set { field, value } => writes.push(Write {
                        field,
                        value: value.clone(),
                        hlc,
                        author: &change.author,
                    }),
                }
            }
            if !writes.is_empty() {
                applied += batch.merge(&tx, def, entity, id, writes)?;
            }
        }
        let deleted = batch.finish(&tx)?;
        meta_set(&tx, "hlc", &clock.to_string())?;
        then(&tx)?;
        tx.commit()?;
        self.set_last_hlc(clock);
        if deleted {
            erase_wal(self.conn())?;
        }
        Ok(applied)
    }

    /// Local changes not yet pushed, oldest first, from at most `limit` outbox entries (an entry
    /// is the fields one transaction changed in one record). A field changed again since is sent
    /// once, with its latest value; a field another device has since overwritten is not sent,
    /// nor is any field of a deleted record (its values are gone): only the delete.
    pub fn outbox(&self, limit: usize) -> Result<Outbox> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT o.seq, o.entity, o.id, o.fields, t.hlc, t.author
             FROM outbox o
             LEFT JOIN tombstones t ON t.entity = o.entity AND t.id = o.id
             ORDER BY o.seq LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query([limit])?;
        let mut out = Outbox::default();
        let mut peers = Peers::default();
        let mut sent: HashSet<String> = HashSet::new();
        let device = self.device_id().as_str();
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let entity: String = r.get(1)?;
            let id: String = r.get(2)?;
            let fields: Option<i64> = r.get(3)?;
            let tombstone: Option<(String, String)> = match (r.get(4)?, r.get(5)?) {
                (Some(h), Some(a)) => Some((h, a)),
                _ => None,
            };
            out.up_to = Some(seq);
            let mut changes = Vec::new();
            match (fields, tombstone) {
                (None, Some((hlc, author))) => changes.push(FieldChange {
                    entity,
                    id,
                    op: Op::Delete,
                    hlc,
                    author,
                }),
                // Edits of a record deleted since, and (never written) a delete without its
                // tombstone: nothing to send.
                (Some(_), Some(_)) | (None, None) => {}
                (Some(fields), None) => {
                    let def = self.entity(&entity);
                    let names: Vec<&str> = match def {
                        Some(def) => def
                            .fields
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i < 63 && fields & (1 << i) != 0)
                            .map(|(_, f)| *f)
                            .collect(),
                        None => Vec::new(),
                    };
                    let current = read_record(self.conn(), &mut peers, def, &entity, &id)?
                        .unwrap_or_default();
                    for (field, value, hlc, author) in current {
                        if names.contains(&field.as_str()) && hlc.ends_with(device) {
                            changes.push(FieldChange {
                                entity: entity.clone(),
                                id: id.clone(),
                                op: Op::Set { field, value },
                                hlc,
                                author,
                            });
                        }
                    }
                }
            }
            out.changes
                .extend(changes.into_iter().filter(|c| sent.insert(c.change_id())));
        }
        Ok(out)
    }

    /// Drops outbox entries up to and including `seq`, once the server has acknowledged them.
    pub fn acknowledge_outbox(&self, seq: i64) -> Result<()> {
        self.conn()
            .execute("DELETE FROM outbox WHERE seq <= ?1", [seq])?;
        Ok(())
    }

    /// Moves this device's own changes that are stamped after `limit_ms` and not yet pushed to
    /// the present. A device whose clock ran ahead stamped its writes in the future; once its
    /// clock is right, those stamps would win every merge until the world caught up with them.
    /// None of them has left the device (sync seals nothing while the clock is off), so they
    /// are stamped again as if written now, and the device's clock starts again from now.
    /// Values do not change. Returns how many fields were stamped again.
    pub(crate) fn restamp_unpushed(&self, limit_ms: u64) -> Result<usize> {
        if self.last_hlc().millis <= limit_ms {
            return Ok(0);
        }
        let device = self.device_id().clone();
        let now = crate::clock::unix_ms(self.clock().as_ref());
        let mut hlc = Hlc::zero(device.clone()).tick(now);
        let tx = self.conn().unchecked_transaction()?;
        let mut records: Vec<(String, String, u64)> = Vec::new();
        {
            let mut stmt = tx.prepare(
                "SELECT entity, id, fields FROM outbox WHERE fields IS NOT NULL ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (entity, id, mask) = row?;
                match records
                    .iter_mut()
                    .find(|(e, i, _)| *e == entity && *i == id)
                {
                    Some((_, _, m)) => *m |= mask as u64,
                    None => records.push((entity, id, mask as u64)),
                }
            }
        }
        let mut batch = Batch::default();
        let mut restamped = 0;
        for (entity, id, mask) in records {
            let Some(def) = self.entity(&entity) else {
                continue;
            };
            let Some(mut state) = batch.load(&tx, Some(def), &entity, &id)? else {
                continue;
            };
            let mut changed = false;
            for (i, field) in def.fields.iter().enumerate() {
                if i >= 63 || mask & (1 << i) == 0 {
                    continue;
                }
                let Some(slot) = state.f.get(*field) else {
                    continue;
                };
                let (stamp, author) = state.c[slot.clock()].clone();
                let theirs = Hlc::parse(&stamp)?;
                if theirs.device != device || theirs.millis <= limit_ms {
                    continue;
                }
                hlc = hlc.tick(now);
                let clock = state.clock(&hlc.to_string(), &author);
                if let Some(slot) = state.f.get_mut(*field) {
                    *slot.clock_mut() = clock;
                }
                changed = true;
                restamped += 1;
            }
            if changed {
                let text = state.store(Some(def), &mut batch.peers, &tx)?;
                tx.execute(
                    &format!("UPDATE {} SET sync_state = ?1 WHERE id = ?2", def.table),
                    rusqlite::params![text, id],
                )?;
            }
        }
        meta_set(&tx, "hlc", &hlc.to_string())?;
        tx.commit()?;
        self.set_last_hlc(hlc);
        Ok(restamped)
    }

    /// Whether record `id` of `def` was deleted.
    pub fn is_deleted(&self, def: &EntityDef, id: &str) -> Result<bool> {
        tombstoned(self.conn(), def.name, id)
    }
}
