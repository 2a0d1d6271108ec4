//! Proposed directive changes under the two-person rule: one officer
//! proposes a file, the set is checked with it, and another officer
//! approves it, which writes it into the directive directory the gateway
//! reloads from.
//!
//! Proposals are kept one JSON file each in a directory of their own,
//! written whole (a temporary file renamed over the old), so a crash leaves
//! a proposal as it was or as it became, never half of each.

pub mod schedule;

use std::path::{Path, PathBuf};

use cordon_jurisdiction::{GroupRegistry, Jurisdictions};
use cordon_policy::Policy;
use cordon_source::SourceFile;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Awaiting a second officer.
    Proposed,
    /// Approved and written into the directive directory.
    Approved,
    /// Turned down.
    Rejected,
}

/// One proposed directive file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Its number, in order of proposing.
    pub id: u64,
    /// The file it adds or replaces, in the directive directory.
    pub file: String,
    /// The file's proposed text.
    pub text: String,
    /// Who proposed it.
    pub proposed_by: String,
    /// When.
    pub proposed_at: String,
    /// The checker's findings on the whole set with this file, one per
    /// line (`file:line:column: severity: message`); empty when it is clean.
    pub findings: Vec<String>,
    /// Whether any finding is an error (an erroneous set cannot be approved).
    pub has_errors: bool,
    /// The policy version the set would have, when it checks.
    pub policy_version: Option<String>,
    /// Where it stands.
    pub status: Status,
    /// Who approved or rejected it, and when.
    pub decided_by: Option<String>,
    /// When it was approved or rejected.
    pub decided_at: Option<String>,
    /// The effective time the approver scheduled it for, as written into
    /// the file ([`schedule`]); `None` when approved as proposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<String>,
    /// The id of the signed bundle it was published to the fleet as, when
    /// the console publishes ([`crate::publish`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
}

/// The directive set a console proposes changes to.
pub struct DirectiveSet {
    /// The directory the gateway loads directives from.
    pub dir: PathBuf,
    /// The model catalog they are checked against.
    pub catalog: PathBuf,
    /// Where proposals are kept.
    pub proposals: PathBuf,
    /// The country tables.
    pub jurisdictions: &'static Jurisdictions,
    /// The country groups.
    pub groups: GroupRegistry,
    /// The latest impact simulation of each proposal.
    pub simulations: crate::simulation::Simulations,
    /// Where approved sets are published when the console serves a fleet;
    /// without one an approval only writes the node's directive file.
    pub publisher: Option<crate::publish::Publisher>,
    /// Held while a proposal is decided: from reading it as awaiting
    /// through checking the whole set, publishing, writing the file and
    /// saving the decision, so that two decisions never build on the same
    /// set or both decide one proposal.
    pub deciding: std::sync::Mutex<()>,
}

impl DirectiveSet {
    /// Holds [`DirectiveSet::deciding`]; a decision that failed half-way
    /// left nothing to protect that the next one does not check again.
    fn decide_alone(&self) -> std::sync::MutexGuard<'_, ()> {
        self.deciding
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The set as its files stand now.
    ///
    /// # Errors
    /// The checker's findings, or why a file could not be read.
    pub fn load(&self) -> Result<Policy, String> {
        self.check(&self.files()?)
    }

    fn files(&self) -> Result<Vec<SourceFile>, String> {
        cordon_policy::directive_files(&self.dir)
            .map_err(|e| format!("cannot read `{}`: {e}", self.dir.display()))?
            .iter()
            .map(|p| SourceFile::read(p).map_err(|e| e.to_string()))
            .collect()
    }

    fn check(&self, files: &[SourceFile]) -> Result<Policy, String> {
        let catalog = cordon_catalog::Catalog::load(&self.catalog).map_err(|errs| {
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        Policy::from_files(files, catalog, self.jurisdictions, &self.groups).map_err(|e| {
            e.diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    /// Checks the set with `file` holding `text`, and keeps the proposal.
    ///
    /// # Errors
    /// [`ConsoleError::InvalidProposal`] for a file name that is not a plain
    /// `*.toml` name; [`ConsoleError::Proposals`] when it cannot be kept.
    pub fn propose(
        &self,
        file: &str,
        text: &str,
        by: &str,
        at: &str,
    ) -> Result<Proposal, ConsoleError> {
        check_file_name(file)?;
        let files = self
            .files_with(file, text)
            .map_err(ConsoleError::InvalidProposal)?;
        let (findings, has_errors, policy_version) = match self.check(&files) {
            Ok(p) => (
                p.warnings().iter().map(ToString::to_string).collect(),
                false,
                Some(p.version().to_owned()),
            ),
            Err(lines) => (lines.lines().map(str::to_owned).collect(), true, None),
        };
        let proposal = Proposal {
            id: self.next_id()?,
            file: file.to_owned(),
            text: text.to_owned(),
            proposed_by: by.to_owned(),
            proposed_at: at.to_owned(),
            findings,
            has_errors,
            policy_version,
            status: Status::Proposed,
            decided_by: None,
            decided_at: None,
            scheduled: None,
            bundle: None,
        };
        self.save(&proposal)?;
        Ok(proposal)
    }

    /// The set as it would be with proposal `p` applied.
    ///
    /// # Errors
    /// The checker's findings, or why a file could not be read.
    pub fn proposed_policy(&self, p: &Proposal) -> Result<Policy, String> {
        self.check(&self.files_with(&p.file, &p.text)?)
    }

    /// The set's files with `file` holding `text`, added or replacing it.
    fn files_with(&self, file: &str, text: &str) -> Result<Vec<SourceFile>, String> {
        let path = self.dir.join(file);
        let mut files = self.files()?;
        files.retain(|f| Path::new(f.name()) != path);
        files.push(SourceFile::new(path.display().to_string(), text));
        Ok(files)
    }

    /// Every proposal, newest first.
    ///
    /// # Errors
    /// [`ConsoleError::Proposals`] for a file that does not read.
    pub fn proposals(&self) -> Result<Vec<Proposal>, ConsoleError> {
        let Ok(entries) = std::fs::read_dir(&self.proposals) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "json") {
                out.push(read(&path)?);
            }
        }
        out.sort_by_key(|p| std::cmp::Reverse(p.id));
        Ok(out)
    }

    /// Proposal `id`, if there is one.
    ///
    /// # Errors
    /// [`ConsoleError::Proposals`] for a file that does not read.
    pub fn proposal(&self, id: u64) -> Result<Option<Proposal>, ConsoleError> {
        let path = self.path_of(id);
        if path.is_file() {
            read(&path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Approves proposal `id` as `by`, who must not be who proposed it:
    /// the set is checked again with it, published to the fleet when the
    /// console has a [`Publisher`](crate::publish::Publisher), and its file
    /// written into the directive directory. With `effective`, a time
    /// later than `now`, the file is written to take effect then (or at
    /// its own time, if later: [`schedule`]).
    ///
    /// # Errors
    /// [`ConsoleError::InvalidProposal`] when it is not awaiting approval,
    /// does not check (with the time scheduled), `by` proposed it, or
    /// `effective` is not later than `now`; [`ConsoleError::Publish`] when
    /// it cannot be published; [`ConsoleError::Proposals`] when the file
    /// cannot be written.
    pub fn approve(
        &self,
        id: u64,
        by: &str,
        now: Timestamp,
        effective: Option<Timestamp>,
    ) -> Result<Proposal, ConsoleError> {
        let invalid = ConsoleError::InvalidProposal;
        let _alone = self.decide_alone();
        let mut p = self.awaiting(id)?;
        if p.proposed_by == by {
            return Err(invalid(
                "a change is approved by a second officer, not by who proposed it".into(),
            ));
        }
        if p.has_errors {
            return Err(invalid(
                "the set does not check with this change: fix it and propose it again".into(),
            ));
        }
        let (text, scheduled) = match effective {
            None => (p.text.clone(), None),
            Some(chosen) => {
                let (text, at) = self.scheduled(&p, chosen, now)?;
                (text, Some(at))
            }
        };
        // Checked again: the set may have changed since it was proposed.
        let files = self.files_with(&p.file, &text).map_err(invalid)?;
        let policy = self.check(&files).map_err(|findings| {
            let with =
                scheduled.map_or_else(String::new, |at| format!(" with the effective time {at}"));
            invalid(format!("the set does not check{with}:\n{findings}"))
        })?;
        if let Some(at) = scheduled {
            // The rewrite must have moved the directive itself, not a line
            // that only looks like its `effective` (inside a long string).
            let path = self.dir.join(&p.file).display().to_string();
            let applied = policy
                .directives()
                .iter()
                .find(|d| d.source.name() == path)
                .map(|d| d.effective);
            if applied != Some(at) {
                return Err(invalid(format!(
                    "`{}` could not be scheduled for {at}: its top-level `effective` line was not found to rewrite",
                    p.file
                )));
            }
        }
        if let Some(publisher) = &self.publisher {
            let catalog = SourceFile::read(&self.catalog)
                .map_err(|e| ConsoleError::Publish(e.to_string()))?;
            let (bundle, _) = publisher.publish(policy.version(), &files, &catalog)?;
            p.bundle = Some(bundle.id);
        }
        // Also the publisher's working copy: the next proposal builds on it.
        write_whole(&self.dir.join(&p.file), text.as_bytes())?;
        p.policy_version = Some(policy.version().to_owned());
        p.scheduled = scheduled.map(|t| t.to_string());
        p.status = Status::Approved;
        p.decided_by = Some(by.to_owned());
        p.decided_at = Some(now.to_string());
        self.save(&p)?;
        Ok(p)
    }

    /// The text of proposal `p` scheduled for `chosen`, and the time it
    /// then states.
    fn scheduled(
        &self,
        p: &Proposal,
        chosen: Timestamp,
        now: Timestamp,
    ) -> Result<(String, Timestamp), ConsoleError> {
        let invalid = ConsoleError::InvalidProposal;
        if chosen <= now {
            return Err(invalid(format!(
                "the effective time {chosen} is not later than now ({now}): approve without one to apply the file as it is"
            )));
        }
        let path = self.dir.join(&p.file).display().to_string();
        let stated = self
            .proposed_policy(p)
            .map_err(invalid)?
            .directives()
            .iter()
            .find(|d| d.source.name() == path)
            .map(|d| d.effective)
            .ok_or_else(|| invalid(format!("`{}` holds no directive to schedule", p.file)))?;
        let at = schedule::effective_time(chosen, stated);
        let text = schedule::with_effective(&p.text, at).map_err(invalid)?;
        Ok((text, at))
    }

    /// Rejects proposal `id` as `by`.
    ///
    /// # Errors
    /// As [`Self::approve`], but anyone with the role may reject, even the
    /// proposer (withdrawing it).
    pub fn reject(&self, id: u64, by: &str, at: &str) -> Result<Proposal, ConsoleError> {
        let _alone = self.decide_alone();
        let mut p = self.awaiting(id)?;
        p.status = Status::Rejected;
        p.decided_by = Some(by.to_owned());
        p.decided_at = Some(at.to_owned());
        self.save(&p)?;
        Ok(p)
    }

    fn awaiting(&self, id: u64) -> Result<Proposal, ConsoleError> {
        match self.proposal(id)? {
            Some(p) if p.status == Status::Proposed => Ok(p),
            Some(_) => Err(ConsoleError::InvalidProposal(format!(
                "proposal {id} was decided already"
            ))),
            None => Err(ConsoleError::InvalidProposal(format!("no proposal {id}"))),
        }
    }

    fn next_id(&self) -> Result<u64, ConsoleError> {
        Ok(self.proposals()?.first().map_or(1, |p| p.id + 1))
    }

    fn path_of(&self, id: u64) -> PathBuf {
        self.proposals.join(format!("{id:06}.json"))
    }

    fn save(&self, p: &Proposal) -> Result<(), ConsoleError> {
        std::fs::create_dir_all(&self.proposals).map_err(|e| ConsoleError::Proposals {
            path: self.proposals.display().to_string(),
            message: e.to_string(),
        })?;
        let text = serde_json::to_vec_pretty(p).map_err(|e| ConsoleError::Proposals {
            path: self.proposals.display().to_string(),
            message: e.to_string(),
        })?;
        write_whole(&self.path_of(p.id), &text)
    }
}

/// Whether a finding line is an error rather than a warning.
pub fn is_error(finding: &str) -> bool {
    finding.contains(": error:")
}

fn check_file_name(file: &str) -> Result<(), ConsoleError> {
    let ok = file.len() <= 100
        && file.ends_with(".toml")
        && file.len() > 5
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !file.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ConsoleError::InvalidProposal(format!(
            "`{file}` is not a directive file name: letters, digits, `-`, `_` and `.`, ending in `.toml`"
        )))
    }
}

fn read(path: &Path) -> Result<Proposal, ConsoleError> {
    let err = |message: String| ConsoleError::Proposals {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_slice(&text).map_err(|e| err(e.to_string()))
}

/// Writes `bytes` to `path` through a temporary file renamed over it.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), ConsoleError> {
    let err = |e: std::io::Error| ConsoleError::Proposals {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, bytes).map_err(err)?;
    std::fs::rename(&temp, path).map_err(err)
}
