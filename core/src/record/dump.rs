//! The state dump replicas are compared with.

use super::change::canonical_json;
use super::rows::read_record;
use super::state::Peers;
use crate::error::Result;
use crate::store::Store;

impl Store {
    /// A canonical text dump of all synced state: merged fields, tombstones and every domain
    /// table, in a fixed order. Two replicas that have applied the same changes dump the same
    /// text; QA compares devices with it.
    pub fn synced_state_dump(&self) -> Result<String> {
        use std::fmt::Write;
        let mut records: Vec<(String, String)> = Vec::new();
        for def in self.entities() {
            let mut stmt = self
                .conn()
                .prepare(&format!("SELECT id FROM {} ORDER BY id", def.table))?;
            let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for id in ids {
                records.push((def.name.to_owned(), id?));
            }
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT entity, id FROM record_state ORDER BY entity, id")?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
            records.push(row?);
        }
        records.sort();
        let mut out = String::new();
        let mut peers = Peers::default();
        for (entity, id) in records {
            for (field, value, hlc, author) in
                read_record(self.conn(), &mut peers, self.entity(&entity), &entity, &id)?
                    .unwrap_or_default()
            {
                writeln!(
                    out,
                    "field {entity}|{id}|{field}|{}|{hlc}|{author}",
                    canonical_json(&value)
                )
                .expect("write to string");
            }
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT entity, id, hlc, author FROM tombstones ORDER BY entity, id")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let cols: [String; 4] = [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?];
            writeln!(out, "tombstone {}", cols.join("|")).expect("write to string");
        }
        for def in self.entities() {
            let sql = format!(
                "SELECT id, {} FROM {} ORDER BY id",
                def.fields.join(", "),
                def.table
            );
            let mut stmt = self.conn().prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                write!(out, "{} ", def.table).expect("write to string");
                for i in 0..=def.fields.len() {
                    let v: rusqlite::types::Value = r.get(i)?;
                    write!(out, "{v:?}|").expect("write to string");
                }
                out.push('\n');
            }
        }
        Ok(out)
    }
}
