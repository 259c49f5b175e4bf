//! `budget-bot store backup` and `store restore`: the whole store as JSON lines, checked on
//! both ends so a backup that restores is a store that verifies.
//!
//! The file is one JSON object per line: a header (format, version, counts, the audit head
//! and the last request), every audit entry in order, every request, every card index entry,
//! every mark (what reminders and burn alerts already said, so a restored bot does not say it
//! again), then an end line with the SHA-256 of every byte before it. Records are written one at a
//! time while the sled trees are iterated, and restore writes nothing until the whole file
//! has been read and checked: counts, digest, the audit chain and head, and that each request
//! is in the state its last audit entry says. Beyond one record, only request ids (and each
//! one's last state) are held while a backup is written; restore holds the whole store once,
//! in the transaction that writes it. The indexes are not in the file: restore builds them
//! from what it wrote.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::audit::{hex, AuditEntry, AuditHead, ChainCheck};
use super::sled::{
    archive_path, audit_key_seq, card_key_bytes, card_key_from_bytes, decode, encode, utf8,
    Records, KEY_AUDIT_HEAD, KEY_INDEXED, KEY_LAST_REQUEST,
};
use super::{CardKey, RequestStore, Store, StoreError, StoreOptions};
use crate::domain::request::{ChangeRequest, RequestState};
use crate::domain::text;

/// The first field of every backup's header.
pub const FORMAT: &str = "budget-bot store backup";
/// The layout this build writes. Version 1 had no marks; it is still read.
pub const VERSION: u32 = 2;
/// How many folder copies `backup` makes of a store another process holds before giving up:
/// a copy taken while sled writes can be torn, and is then refused by the checks.
pub const COPY_ATTEMPTS: u32 = 5;
/// The pause before the next copy, times the attempt number.
const COPY_BACKOFF: Duration = Duration::from_millis(200);

/// What a backup holds; the header's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub requests: u64,
    pub cards: u64,
    pub audit_entries: u64,
    /// Absent from version 1 backups, which held none.
    #[serde(default)]
    pub marks: u64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests, {} cards, {} audit entries, {} marks",
            self.requests, self.cards, self.audit_entries, self.marks
        )
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    /// Unix seconds; for people reading the file.
    created_at: u64,
    counts: Counts,
    audit_head: Option<AuditHead>,
    last_request: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardLine {
    /// Platform and channel are absent for a card indexed by its message id alone (all
    /// cards before cards had a platform), so such a backup reads as it always did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    platform: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    channel: String,
    message_id: String,
    request_id: String,
}

/// A store mark (see [`RequestStore::mark`]): its key and value.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkLine {
    key: String,
    value: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndLine {
    /// SHA-256 of every byte of the file before this line.
    sha256: String,
}

/// One line of the file. Records come in this order: header, audit, request, card, mark, end.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Header(Header),
    Audit(AuditEntry),
    Request(Box<ChangeRequest>),
    Card(CardLine),
    Mark(MarkLine),
    End(EndLine),
}

impl Line {
    fn rank(&self) -> u8 {
        match self {
            Line::Header(_) => 0,
            Line::Audit(_) => 1,
            Line::Request(_) => 2,
            Line::Card(_) => 3,
            Line::Mark(_) => 4,
            Line::End(_) => 5,
        }
    }
}

/// How `backup` read the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// No other process held the store: it was opened and read directly.
    Direct,
    /// Another process (a running bot) held the store's lock: its folder was copied to a
    /// private temporary folder and the copy read, on this attempt.
    FolderCopy { attempt: u32 },
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Direct => {
                f.write_str("read from the store directly (no other process was using it)")
            }
            Route::FolderCopy { attempt } => write!(
                f,
                "the store is in use by another process (a running budget-bot), so its folder was copied and the copy read and verified (copy {attempt} of at most {COPY_ATTEMPTS})"
            ),
        }
    }
}

/// What a backup or restore did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub counts: Counts,
    pub audit_head: Option<AuditHead>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.counts)?;
        match &self.audit_head {
            Some(head) => write!(
                f,
                "; audit chain verified up to entry #{} ({})",
                head.seq,
                &head.hash[..12.min(head.hash.len())]
            ),
            None => f.write_str("; the audit log is empty"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("there is no store at {path}: nothing to back up (check [storage] path)")]
    NoStore { path: String },
    #[error("the store is not consistent: {0}")]
    Inconsistent(String),
    #[error("could not get a consistent copy of the store at {path}, which another process (a running budget-bot?) holds, in {COPY_ATTEMPTS} attempts; the last copy: {last}. Try again, or stop the bot for a moment and run the backup again")]
    NoConsistentCopy { path: String, last: String },
    #[error("the store at {path} is not empty ({counts}): restore writes only into an empty store, and nothing was changed. To replace it, stop the bot, move the folder aside (mv {path} {path}.old) and run the restore again")]
    NotEmpty { path: String, counts: Counts },
    #[error("backup file {file}: {reason}; nothing was restored (the store is still empty): use another backup")]
    BadFile { file: String, reason: String },
    #[error("cannot write the backup: {0}")]
    Write(std::io::Error),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
}

impl From<sled::Error> for BackupError {
    fn from(e: sled::Error) -> Self {
        BackupError::Store(e.into())
    }
}

fn io_error(what: &'static str, path: &Path) -> impl Fn(std::io::Error) -> BackupError {
    let path = path.display().to_string();
    move |source| BackupError::Io {
        what,
        path: path.clone(),
        source,
    }
}

/// `store backup`: writes the store at `store_path` to `file` (replaced atomically, so a
/// failed backup leaves no partial file). The store is read directly when no other process
/// holds it, or else through a verified copy of its folder; the lock is never waited on.
pub fn backup(
    store_path: &Path,
    options: &StoreOptions,
    file: &Path,
) -> Result<(Summary, Route), BackupError> {
    if !store_path.exists() {
        return Err(BackupError::NoStore {
            path: store_path.display().to_string(),
        });
    }
    // The store is read as it is: no finished work is archived on the way.
    let options = &StoreOptions {
        archive: None,
        ..*options
    };
    match Store::open_with(store_path, options) {
        Ok(store) => Ok((write_file(&store, file)?, Route::Direct)),
        Err(StoreError::Locked { .. }) => backup_from_copies(store_path, options, file),
        Err(e) => Err(e.into()),
    }
}

fn backup_from_copies(
    store_path: &Path,
    options: &StoreOptions,
    file: &Path,
) -> Result<(Summary, Route), BackupError> {
    let mut last = String::new();
    for attempt in 1..=COPY_ATTEMPTS {
        if attempt > 1 {
            std::thread::sleep(COPY_BACKOFF * (attempt - 1));
        }
        // 0700, removed when dropped: the copy holds the same data as the store.
        let scratch = tempfile::Builder::new()
            .prefix("budget-bot-backup-")
            .tempdir()
            .map_err(io_error(
                "cannot make a temporary folder in",
                &std::env::temp_dir(),
            ))?;
        let copy = scratch.path().join("store");
        let archive = archive_path(store_path);
        let mut copied = copy_folder(store_path, &copy);
        if copied.is_ok() && archive.exists() {
            copied = copy_folder(&archive, &archive_path(&copy));
        }
        if let Err(e) = copied {
            last = format!("copying the folder failed: {e}");
            continue;
        }
        let store = match Store::open_with(&copy, options) {
            Ok(store) => store,
            Err(e) => {
                last = format!("the copy does not open: {e}");
                continue;
            }
        };
        match write_file(&store, file) {
            Ok(summary) => return Ok((summary, Route::FolderCopy { attempt })),
            Err(BackupError::Inconsistent(reason)) => last = reason,
            Err(BackupError::Store(e)) => last = e.to_string(),
            Err(other) => return Err(other),
        }
    }
    Err(BackupError::NoConsistentCopy {
        path: store_path.display().to_string(),
        last,
    })
}

/// Copies a sled folder. sled's log (`db`) is copied last, so it is at least as new as any
/// snapshot copied before it; a copy torn by concurrent writes is caught when it is read.
fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut log = None;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else if entry.file_name() == "db" {
            log = Some((entry.path(), target));
        } else if kind.is_file() {
            std::fs::copy(entry.path(), target)?;
        }
    }
    if let Some((from, to)) = log {
        std::fs::copy(from, to)?;
    }
    Ok(())
}

/// Writes the backup next to `file` and renames it into place once complete.
fn write_file(store: &Store, file: &Path) -> Result<Summary, BackupError> {
    let folder = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let temp = tempfile::NamedTempFile::new_in(folder)
        .map_err(io_error("cannot write a backup file in", folder))?;
    let mut out = BufWriter::new(temp);
    let summary = write_backup(store, &mut out)?;
    let temp = out
        .into_inner()
        .map_err(|e| io_error("cannot write", file)(e.into_error()))?;
    temp.as_file()
        .sync_all()
        .map_err(io_error("cannot write", file))?;
    temp.persist(file)
        .map_err(|e| io_error("cannot write", file)(e.error))?;
    Ok(summary)
}

/// Lines written with the running digest of everything before the end line.
struct LineWriter<W> {
    out: W,
    digest: Sha256,
}

impl<W: Write> LineWriter<W> {
    fn put(&mut self, line: &Line) -> Result<(), BackupError> {
        let mut bytes = serde_json::to_vec(line).expect("backup lines serialize");
        bytes.push(b'\n');
        self.digest.update(&bytes);
        self.out.write_all(&bytes).map_err(BackupError::Write)
    }
}

/// Streams the store into `out`, checking it as it goes; see the module docs for the layout.
/// The store must not change meanwhile (this process holds its lock, or it is a private copy).
pub fn write_backup(store: &Store, out: impl Write) -> Result<Summary, BackupError> {
    let counts = counts(store)?;
    let audit_head = store.audit_head()?;
    let last_request = store
        .meta
        .get(KEY_LAST_REQUEST)?
        .map(|id| utf8("last request", &id))
        .transpose()?;
    let created_at = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut writer = LineWriter {
        out,
        digest: Sha256::new(),
    };
    writer.put(&Line::Header(Header {
        format: FORMAT.into(),
        version: VERSION,
        created_at,
        counts: counts.clone(),
        audit_head: audit_head.clone(),
        last_request: last_request.clone(),
    }))?;

    let mut check = Consistency::new(last_request);
    let mut written = Counts::default();
    for item in store.records(Records::Audit)? {
        let (key, bytes) = item?;
        let entry: AuditEntry = decode(&format!("audit entry {key:?}"), &bytes)?;
        check
            .audit(audit_key_seq(&key), &entry)
            .map_err(BackupError::Inconsistent)?;
        writer.put(&Line::Audit(entry))?;
        written.audit_entries += 1;
    }
    for item in store.records(Records::Requests)? {
        let (key, bytes) = item?;
        let what = format!("request {}", String::from_utf8_lossy(&key));
        let request: ChangeRequest = decode(&what, &bytes)?;
        if request.id.as_str().as_bytes() != key.as_ref() {
            return Err(BackupError::Inconsistent(format!(
                "{what} is stored under another id"
            )));
        }
        check.request(&request).map_err(BackupError::Inconsistent)?;
        writer.put(&Line::Request(Box::new(request)))?;
        written.requests += 1;
    }
    for item in store.records(Records::Cards)? {
        let (key, value) = item?;
        let key = card_key_from_bytes(&key)?;
        let card = CardLine {
            platform: key.platform,
            channel: key.channel,
            message_id: key.message,
            request_id: utf8("card index entry", &value)?,
        };
        check.card(&card).map_err(BackupError::Inconsistent)?;
        writer.put(&Line::Card(card))?;
        written.cards += 1;
    }
    for item in store.marks.iter() {
        let (key, value) = item?;
        writer.put(&Line::Mark(MarkLine {
            key: utf8("mark key", &key)?,
            value: utf8("mark", &value)?,
        }))?;
        written.marks += 1;
    }
    check
        .finish(audit_head.as_ref())
        .map_err(BackupError::Inconsistent)?;
    if written != counts {
        return Err(BackupError::Inconsistent(format!(
            "the store changed while it was read ({counts} counted, then {written} read)"
        )));
    }
    let sha256 = hex(&writer.digest.clone().finalize());
    writer.put(&Line::End(EndLine { sha256 }))?;
    writer.out.flush().map_err(BackupError::Write)?;
    Ok(Summary { counts, audit_head })
}

/// How many records the store holds, live and archived.
fn counts(store: &Store) -> Result<Counts, StoreError> {
    let count = |which| -> Result<u64, StoreError> {
        let mut n = 0;
        for item in store.records(which)? {
            item?;
            n += 1;
        }
        Ok(n)
    };
    Ok(Counts {
        requests: count(Records::Requests)?,
        cards: count(Records::Cards)?,
        audit_entries: count(Records::Audit)?,
        marks: store.marks.len() as u64,
    })
}

/// What a store and a backup must both satisfy, checked record by record, audit entries first.
struct Consistency {
    chain: ChainCheck,
    /// For each request id: state, `current` and `target` after its last audit entry.
    last_transition: HashMap<String, (RequestState, i64, i64)>,
    requests: HashSet<String>,
    last_request: Option<String>,
}

impl Consistency {
    fn new(last_request: Option<String>) -> Self {
        Self {
            chain: ChainCheck::new(),
            last_transition: HashMap::new(),
            requests: HashSet::new(),
            last_request,
        }
    }

    fn audit(&mut self, key_seq: u64, entry: &AuditEntry) -> Result<(), String> {
        self.chain.push(key_seq, entry).map_err(|broken| {
            format!(
                "the audit chain is broken at entry #{}: {}",
                broken.seq, broken.reason
            )
        })?;
        self.last_transition.insert(
            entry.request_id.clone(),
            (entry.to, entry.before, entry.after),
        );
        Ok(())
    }

    /// Every request is written in the transaction that appends its audit entry, so its
    /// stored state, current and target are those of its last entry.
    fn request(&mut self, request: &ChangeRequest) -> Result<(), String> {
        let id = request.id.as_str();
        match self.last_transition.remove(id) {
            Some(last) if last == (request.state, request.current, request.target) => {}
            Some((state, _, _)) => {
                return Err(format!(
                    "request {id} is {} but its last audit entry says {state}",
                    request.state
                ))
            }
            None => return Err(format!("request {id} has no audit entry")),
        }
        self.requests.insert(id.to_string());
        Ok(())
    }

    fn card(&self, card: &CardLine) -> Result<(), String> {
        if self.requests.contains(&card.request_id) {
            Ok(())
        } else {
            Err(format!(
                "card {} belongs to request {}, which is missing",
                card.message_id, card.request_id
            ))
        }
    }

    fn finish(&self, head: Option<&AuditHead>) -> Result<(), String> {
        self.chain.finish(head).map_err(|broken| {
            format!("the audit head does not match the log: {}", broken.reason)
        })?;
        if let Some(id) = self.last_transition.keys().next() {
            return Err(format!("request {id} has audit entries but is missing"));
        }
        match &self.last_request {
            Some(id) if !self.requests.contains(id) => {
                Err(format!("the last request, {id}, is missing"))
            }
            _ => Ok(()),
        }
    }
}

/// `store restore`: reads and checks all of `file`, then writes it into the store in one
/// transaction, then indexes it. A store that is not empty is refused and left as it is.
pub fn restore(store: &Store, store_path: &Path, file: &Path) -> Result<Summary, BackupError> {
    let present = counts(store)?;
    // An empty store opened by this version is marked as indexed: that is not data.
    let mut meta_keys = store.meta.iter().keys();
    let holds_meta = meta_keys.any(|key| key.map_or(true, |key| key != KEY_INDEXED));
    if present != Counts::default() || holds_meta {
        return Err(BackupError::NotEmpty {
            path: store_path.display().to_string(),
            counts: present,
        });
    }
    let input = File::open(file).map_err(io_error("cannot read backup file", file))?;
    let batches = read_backup(BufReader::new(input)).map_err(|reason| BackupError::BadFile {
        file: file.display().to_string(),
        reason,
    })?;
    let trees = (
        &store.requests,
        &store.audit,
        &store.cards,
        &store.meta,
        &store.marks,
    );
    let result = trees.transaction(|(requests, audit, cards, meta, marks)| {
        requests.apply_batch(&batches.requests)?;
        audit.apply_batch(&batches.audit)?;
        cards.apply_batch(&batches.cards)?;
        meta.apply_batch(&batches.meta)?;
        marks.apply_batch(&batches.marks)?;
        Ok::<_, ConflictableTransactionError<()>>(())
    });
    match result {
        Ok(()) => {}
        Err(TransactionError::Abort(())) => unreachable!("the restore transaction never aborts"),
        Err(TransactionError::Storage(e)) => return Err(StoreError::from(e).into()),
    }
    // Until this is done the index mark names no audit entry, so a restore stopped here is
    // indexed by the next open.
    store.rebuild_indexes()?;
    store.flush()?;
    Ok(batches.summary)
}

/// A checked backup, ready to be written.
struct Batches {
    requests: sled::Batch,
    audit: sled::Batch,
    cards: sled::Batch,
    meta: sled::Batch,
    marks: sled::Batch,
    summary: Summary,
}

/// Reads a whole backup, checking every line; the error says what is wrong, in words.
fn read_backup(mut input: impl BufRead) -> Result<Batches, String> {
    let mut batches = Batches {
        requests: sled::Batch::default(),
        audit: sled::Batch::default(),
        cards: sled::Batch::default(),
        meta: sled::Batch::default(),
        marks: sled::Batch::default(),
        summary: Summary {
            counts: Counts::default(),
            audit_head: None,
        },
    };
    let mut digest = Sha256::new();
    let mut header: Option<Header> = None;
    let mut check = Consistency::new(None);
    let mut found = Counts::default();
    let mut rank = 0;
    let mut raw = String::new();
    for number in 1.. {
        raw.clear();
        let read = input
            .read_line(&mut raw)
            .map_err(|e| format!("line {number} cannot be read: {e}"))?;
        let Some(header) = header.as_ref() else {
            if read == 0 {
                return Err("the file is empty".into());
            }
            let first = serde_json::from_str::<Line>(&raw).ok();
            let Some(Line::Header(first)) = first.filter(|_| raw.ends_with('\n')) else {
                return Err(
                    "it is not a budget-bot store backup (its first line is not a backup header)"
                        .into(),
                );
            };
            if first.format != FORMAT || !(1..=VERSION).contains(&first.version) {
                return Err(format!(
                    "it is `{}` version {}; this budget-bot reads `{FORMAT}` versions 1 to {VERSION}",
                    text::bounded(&first.format, 40),
                    first.version
                ));
            }
            digest.update(raw.as_bytes());
            check = Consistency::new(first.last_request.clone());
            header = Some(first);
            continue;
        };
        if read == 0 {
            return Err(format!(
                "it ends at line {} without its end line: it was cut short (it holds {found} of the {} its header announces)",
                number - 1,
                header.counts
            ));
        }
        let line: Line = serde_json::from_str(&raw).map_err(|e| {
            format!(
                "line {number} is not a complete backup record ({}): the file was cut short or edited",
                text::echo(&e.to_string())
            )
        })?;
        if line.rank() < rank || matches!(line, Line::Header(_)) {
            return Err(format!(
                "line {number} is out of order: the file was edited"
            ));
        }
        rank = line.rank();
        let at =
            |reason: String| format!("line {number}: {reason} (the file was edited or damaged)");
        match line {
            Line::Header(_) => unreachable!("refused above"),
            Line::Audit(entry) => {
                check.audit(entry.seq, &entry).map_err(at)?;
                batches
                    .audit
                    .insert(&entry.seq.to_be_bytes(), encode(&entry));
                found.audit_entries += 1;
            }
            Line::Request(request) => {
                check.request(&request).map_err(at)?;
                batches
                    .requests
                    .insert(request.id.as_str().as_bytes(), encode(&request));
                found.requests += 1;
            }
            Line::Card(card) => {
                check.card(&card).map_err(at)?;
                let key = CardKey::new(&card.platform, &card.channel, &card.message_id);
                batches
                    .cards
                    .insert(card_key_bytes(&key), card.request_id.as_bytes());
                found.cards += 1;
            }
            Line::Mark(mark) => {
                batches
                    .marks
                    .insert(mark.key.as_bytes(), mark.value.as_bytes());
                found.marks += 1;
            }
            Line::End(end) => {
                if hex(&digest.clone().finalize()) != end.sha256 {
                    return Err("its checksum does not match its contents: it was changed after it was written".into());
                }
                if found != header.counts {
                    return Err(format!(
                        "its header announces {} but it holds {found}: it was edited",
                        header.counts
                    ));
                }
                check.finish(header.audit_head.as_ref()).map_err(at)?;
                raw.clear();
                if input.read_line(&mut raw).map_err(|e| e.to_string())? != 0 {
                    return Err(format!(
                        "there is more after the end line (line {})",
                        number + 1
                    ));
                }
                break;
            }
        }
        digest.update(raw.as_bytes());
    }
    let header = header.expect("the loop ends only after the header and the end line");
    if let Some(head) = &header.audit_head {
        batches.meta.insert(KEY_AUDIT_HEAD, encode(head));
    }
    if let Some(last) = &header.last_request {
        batches.meta.insert(KEY_LAST_REQUEST, last.as_bytes());
    }
    batches.summary = Summary {
        counts: found,
        audit_head: header.audit_head,
    };
    Ok(batches)
}
