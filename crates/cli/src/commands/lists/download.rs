//! Fetching the current list files from their publication addresses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The official publication addresses, by the file name each is saved as.
///
/// OFAC's Sanctions List Service publishes the SDN and consolidated non-SDN
/// files; trade.gov publishes the Consolidated Screening List, which carries
/// the BIS and State Department lists (Entity List, DPL, UVL, MEU, ISN, DTC).
pub const OFFICIAL: [(&str, &str); 9] = [
    (
        "sdn.csv",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV",
    ),
    (
        "alt.csv",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ALT.CSV",
    ),
    (
        "add.csv",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADD.CSV",
    ),
    (
        "sdn_comments.csv",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_COMMENTS.CSV",
    ),
    (
        "cons_prim.csv",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_PRIM.CSV",
    ),
    (
        "cons_alt.csv",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_ALT.CSV",
    ),
    (
        "cons_add.csv",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_ADD.CSV",
    ),
    (
        "cons_comments.csv",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_COMMENTS.CSV",
    ),
    (
        "consolidated.csv",
        "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv",
    ),
];

/// Largest list file accepted; the full Consolidated Screening List is about 25 MB.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One file to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file name it is saved as (and read by).
    pub file: String,
    /// Where it is published.
    pub url: String,
}

/// The sources to fetch: the official ones, re-based onto `base` if given,
/// then overridden one by one by `FILE=URL` pairs.
pub fn sources(base: Option<&str>, overrides: &[String]) -> Result<Vec<Source>> {
    let mut out: Vec<Source> = OFFICIAL
        .iter()
        .map(|(file, url)| Source {
            file: (*file).to_owned(),
            url: match base {
                Some(b) => format!("{}/{file}", b.trim_end_matches('/')),
                None => (*url).to_owned(),
            },
        })
        .collect();
    for o in overrides {
        let Some((file, url)) = o.split_once('=') else {
            bail!("--source `{o}` is not FILE=URL (e.g. sdn.csv=https://example.org/sdn.csv)");
        };
        let file = file.trim();
        if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
            bail!("--source `{o}`: `{file}` is not a plain file name");
        }
        if url.trim() == "-" || url.trim().is_empty() {
            out.retain(|s| s.file != file);
            continue;
        }
        match out.iter_mut().find(|s| s.file == file) {
            Some(s) => s.url = url.trim().to_owned(),
            None => out.push(Source {
                file: file.to_owned(),
                url: url.trim().to_owned(),
            }),
        }
    }
    if out.is_empty() {
        bail!("no sources left to fetch: every file was removed with FILE=-");
    }
    Ok(out)
}

/// Downloads every source into `dir` and returns the files written.
///
/// Each file is written under a temporary name and renamed when complete, so a
/// failed download never leaves a truncated file that a later import would read.
pub fn fetch_all(
    sources: &[Source],
    dir: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory `{}`", dir.display()))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(300)))
        .user_agent(concat!("cordon/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut written = Vec::with_capacity(sources.len());
    for s in sources {
        progress.set_message(s.file.clone());
        let bytes = fetch(&agent, &s.url).with_context(|| format!("cannot fetch `{}`", s.url))?;
        let path = dir.join(&s.file);
        let partial = dir.join(format!(".{}.partial", s.file));
        std::fs::write(&partial, &bytes)
            .with_context(|| format!("cannot write `{}`", partial.display()))?;
        std::fs::rename(&partial, &path)
            .with_context(|| format!("cannot move the download to `{}`", path.display()))?;
        progress.inc(1);
        written.push(path);
    }
    Ok(written)
}

fn fetch(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>> {
    let mut response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => anyhow::anyhow!("the server answered HTTP {code}"),
        other => anyhow::Error::new(other),
    })?;
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_FILE_BYTES)
        .read_to_vec()
        .context("the download did not complete")?;
    if bytes.is_empty() {
        bail!("the server sent an empty file");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_rebases_every_official_file() {
        let s = sources(Some("http://127.0.0.1:9/lists/"), &[]).unwrap();
        assert_eq!(s.len(), OFFICIAL.len());
        assert_eq!(s[0].url, "http://127.0.0.1:9/lists/sdn.csv");
    }

    #[test]
    fn overrides_replace_add_and_remove() {
        let s = sources(
            None,
            &[
                "sdn.csv=http://mirror/sdn.csv".into(),
                "consolidated.csv=-".into(),
                "dpl.txt=http://mirror/dpl.txt".into(),
            ],
        )
        .unwrap();
        assert!(
            s.iter()
                .any(|x| x.file == "sdn.csv" && x.url == "http://mirror/sdn.csv")
        );
        assert!(!s.iter().any(|x| x.file == "consolidated.csv"));
        assert!(s.iter().any(|x| x.file == "dpl.txt"));
    }

    #[test]
    fn override_must_name_a_plain_file() {
        let e = sources(None, &["../etc/passwd=http://x".into()]).unwrap_err();
        assert!(e.to_string().contains("plain file name"), "{e}");
        let e = sources(None, &["sdn.csv".into()]).unwrap_err();
        assert!(e.to_string().contains("FILE=URL"), "{e}");
    }
}
