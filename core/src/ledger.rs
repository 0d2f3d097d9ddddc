//! The rows a transaction wrote to PartnerStack, by subtransaction: PartnerStack cannot roll
//! back, so a transaction (or savepoint) rolled back after writes must say what stays.
//!
//! No Postgres types: the glue passes subtransaction ids as plain numbers (Postgres numbers
//! them upwards within a transaction, the top level being 1) and turns a [`Summary`] into a
//! WARNING.

/// Keys named per table in a summary; the rest are counted.
pub const KEYS_SHOWN: usize = 20;

/// One accepted row.
#[derive(Debug, Clone)]
struct Written {
    subxact: u32,
    table: usize,
    key: String,
    /// Named by the ERROR of the statement that wrote it (a partial failure).
    listed: bool,
}

/// The rows the current transaction wrote, and whether it wrote at all.
#[derive(Debug, Default)]
pub struct Ledger {
    tables: Vec<String>,
    rows: Vec<Written>,
    /// Whether any write was sent in the transaction, even one in a subtransaction since
    /// rolled back: such a transaction cannot be prepared.
    wrote: bool,
}

/// What stays in PartnerStack of a rolled-back (sub)transaction, per table in the order the
/// tables were first written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Per table.
    pub tables: Vec<TableSummary>,
}

/// The rows of one table in a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// Foreign table.
    pub table: String,
    /// Rows written.
    pub rows: usize,
    /// Of them, rows an ERROR already named (their keys are not repeated).
    pub listed: usize,
    /// The first [`KEYS_SHOWN`] keys of the rows no ERROR named, in the order written.
    pub keys: Vec<String>,
}

impl Ledger {
    /// Records a row PartnerStack accepted, in subtransaction `subxact`.
    pub fn written(&mut self, subxact: u32, table: &str, key: &str) {
        let table = match self.tables.iter().position(|t| t == table) {
            Some(i) => i,
            None => {
                self.tables.push(table.to_owned());
                self.tables.len() - 1
            }
        };
        self.rows.push(Written {
            subxact,
            table,
            key: key.to_owned(),
            listed: false,
        });
        self.wrote = true;
    }

    /// Marks the last `rows` rows written to `table` as named by the ERROR of the statement
    /// that wrote them.
    pub fn listed(&mut self, table: &str, rows: usize) {
        let Some(table) = self.tables.iter().position(|t| t == table) else {
            return;
        };
        self.rows
            .iter_mut()
            .rev()
            .filter(|r| r.table == table && !r.listed)
            .take(rows)
            .for_each(|r| r.listed = true);
    }

    /// A write request went out: whether or not it is ever known accepted (a create without an
    /// answer may have landed), the transaction has written.
    pub fn sent(&mut self) {
        self.wrote = true;
    }

    /// Whether the transaction sent any write.
    pub fn wrote(&self) -> bool {
        self.wrote
    }

    /// A subtransaction committed: its rows now belong to its parent.
    pub fn commit_sub(&mut self, subxact: u32, parent: u32) {
        for row in self.rows.iter_mut().filter(|r| r.subxact == subxact) {
            row.subxact = parent;
        }
    }

    /// A subtransaction rolled back: forgets its rows (and those of subtransactions inside it)
    /// and says what stays of them.
    pub fn abort_sub(&mut self, subxact: u32) -> Option<Summary> {
        let (gone, kept) = std::mem::take(&mut self.rows)
            .into_iter()
            .partition(|r| r.subxact >= subxact);
        self.rows = kept;
        self.summary(&gone)
    }

    /// The transaction ended: forgets everything; when it was rolled back, says what stays.
    pub fn end(&mut self, aborted: bool) -> Option<Summary> {
        let ledger = std::mem::take(self);
        if aborted {
            ledger.summary(&ledger.rows)
        } else {
            None
        }
    }

    /// The summary of `rows`; `None` when there are none, or when every one was already named
    /// by an ERROR (which said the rows stay).
    fn summary(&self, rows: &[Written]) -> Option<Summary> {
        if rows.iter().all(|r| r.listed) {
            return None;
        }
        let mut tables: Vec<TableSummary> = Vec::new();
        for (index, name) in self.tables.iter().enumerate() {
            let of_table: Vec<&Written> = rows.iter().filter(|r| r.table == index).collect();
            if of_table.is_empty() {
                continue;
            }
            tables.push(TableSummary {
                table: name.clone(),
                rows: of_table.len(),
                listed: of_table.iter().filter(|r| r.listed).count(),
                keys: of_table
                    .iter()
                    .filter(|r| !r.listed)
                    .take(KEYS_SHOWN)
                    .map(|r| r.key.clone())
                    .collect(),
            });
        }
        Some(Summary { tables })
    }
}

impl Summary {
    /// Rows written over every table.
    pub fn rows(&self) -> usize {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// The sentences naming what stays, table by table.
    pub fn detail(&self) -> String {
        let tables: Vec<String> = self
            .tables
            .iter()
            .map(|t| {
                let unlisted = t.rows - t.listed;
                let mut text = format!("{}: {} row(s)", t.table, t.rows);
                if unlisted > 0 {
                    text.push_str(&format!(": {}", t.keys.join(", ")));
                    if unlisted > t.keys.len() {
                        text.push_str(&format!(" and {} more", unlisted - t.keys.len()));
                    }
                }
                match t.listed {
                    0 => {}
                    n if n == t.rows => {
                        text.push_str(", named by the ERROR of the statement that wrote them");
                    }
                    n => text.push_str(&format!(
                        " (and {n} named by the ERROR of the statement that wrote them)"
                    )),
                }
                text
            })
            .collect();
        format!("{}.", tables.join(". "))
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
