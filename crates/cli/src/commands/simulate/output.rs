//! Writing the report files so that a reader never sees half of them: each
//! goes to a temporary name beside its target, is synced, and only when
//! every file is complete are they all renamed into place.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Files being written together. Dropping it without [`Staged::commit`]
/// removes every temporary file, so an error leaves nothing new behind.
#[derive(Default)]
pub(super) struct Staged {
    /// (temporary, target) pairs, in the order they were staged.
    files: Vec<(PathBuf, PathBuf)>,
    /// A directory created for the report, removed again on failure.
    created_dir: Option<PathBuf>,
}

impl Staged {
    /// Makes `dir` if it does not exist (its parent must), so report files
    /// can be staged in it.
    pub(super) fn prepare_dir(&mut self, dir: &Path) -> Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        check_parent(dir, "--out")?;
        std::fs::create_dir(dir)
            .with_context(|| format!("cannot create the --out directory `{}`", dir.display()))?;
        self.created_dir = Some(dir.to_owned());
        Ok(())
    }

    /// Opens a temporary file beside `target` for writing; finish it with
    /// [`Staged::seal`].
    pub(super) fn create(&mut self, target: &Path) -> Result<BufWriter<File>> {
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("`{}` does not name a file", target.display()))?;
        let temp = target.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .with_context(|| format!("cannot create `{}`", temp.display()))?;
        self.files.push((temp, target.to_owned()));
        Ok(BufWriter::with_capacity(1 << 20, file))
    }

    /// Flushes and syncs a file opened by [`Staged::create`].
    pub(super) fn seal(w: BufWriter<File>, target: &Path) -> Result<()> {
        let file = w
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))
            .and_then(|f| Ok(f.sync_all().map(|()| f)?))
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        drop(file);
        Ok(())
    }

    /// Stages `bytes` as the whole content of `target`.
    pub(super) fn write(&mut self, target: &Path, bytes: &[u8]) -> Result<()> {
        let mut w = self.create(target)?;
        w.write_all(bytes)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        Self::seal(w, target)
    }

    /// Renames every staged file into place and syncs the directories, so
    /// the new names survive a crash.
    pub(super) fn commit(mut self) -> Result<()> {
        let files = std::mem::take(&mut self.files);
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (k, (temp, target)) in files.iter().enumerate() {
            if let Err(e) = std::fs::rename(temp, target) {
                // What is not yet renamed is still temporary: remove it.
                self.files = files.get(k..).map(<[_]>::to_vec).unwrap_or_default();
                return Err(e).with_context(|| format!("cannot write `{}`", target.display()));
            }
            let dir = parent(target).to_owned();
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        self.created_dir = None;
        for dir in dirs {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("cannot sync the directory `{}`", dir.display()))?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temp, _) in &self.files {
            let _ = std::fs::remove_file(temp);
        }
        if let Some(dir) = &self.created_dir {
            // Only succeeds if it is still empty.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Refuses an output path whose directory does not exist, before any work.
pub(super) fn check_parent(path: &Path, flag: &str) -> Result<()> {
    let dir = parent(path);
    if !dir.is_dir() {
        bail!(
            "{flag} `{}`: the directory `{}` does not exist",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Refuses an --out path that exists but is not a directory, or whose parent
/// is missing.
pub(super) fn check_out_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("--out `{}` exists and is not a directory", dir.display());
    }
    if !dir.exists() {
        check_parent(dir, "--out")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cordon-staged-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn files_appear_only_on_commit() {
        let d = scratch("commit");
        let mut s = Staged::default();
        s.write(&d.join("a.json"), b"{}").unwrap();
        s.write(&d.join("b.csv"), b"x\n").unwrap();
        assert!(
            names(&d).iter().all(|n| n.starts_with('.')),
            "{:?}",
            names(&d)
        );
        s.commit().unwrap();
        assert_eq!(names(&d), ["a.json", "b.csv"]);
        assert_eq!(std::fs::read(d.join("a.json")).unwrap(), b"{}");
    }

    #[test]
    fn an_abandoned_set_leaves_nothing() {
        let d = scratch("abandon");
        let out = d.join("out");
        let mut s = Staged::default();
        s.prepare_dir(&out).unwrap();
        s.write(&out.join("a.json"), b"{}").unwrap();
        drop(s);
        assert!(!out.exists(), "the directory made for the report is gone");
        assert!(names(&d).is_empty());
    }

    #[test]
    fn a_missing_parent_is_refused() {
        let d = scratch("parent");
        let e = check_out_dir(&d.join("no/such")).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        std::fs::write(d.join("file"), "").unwrap();
        let e = check_out_dir(&d.join("file")).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
    }
}
