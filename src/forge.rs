//! git, through git2: the user's repository is only read; orch works in a
//! private linked worktree on a temporary branch, commits there, points
//! the result branch at that commit and removes the worktree.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};

use git2::{
    BranchType, Cred, CredentialType, FetchOptions, PushOptions, RemoteCallbacks, Repository,
    Signature, StatusOptions, WorktreePruneOptions,
};

use crate::secret::Secret;

/// git failures, with what to do about them.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(
        "`{0}` is not inside a git repository (orch works on git repositories: `git init && git add -A && git commit -m init`)"
    )]
    NotARepository(PathBuf),
    #[error("the repository at `{0}` has no commits yet; commit something first")]
    NoCommits(PathBuf),
    #[error(
        "git identity is not configured; set it with `git config user.name \"Your Name\"` and `git config user.email you@example.com`"
    )]
    NoIdentity,
    #[error(
        "`{rev}` is not a commit in this repository ({message}); pass a branch, tag or commit to --base"
    )]
    BadBase { rev: String, message: String },
    #[error("no git remote named `{0}`; add one (`git remote add {0} URL`) or pass --remote NAME")]
    NoRemote(String),
    #[error("authentication to {url} failed; {hint}")]
    Auth { url: String, hint: String },
    #[error("{url} refused `{refname}`: {message}")]
    Rejected {
        url: String,
        refname: String,
        message: String,
    },
    #[error("cannot reach {url}: {message}")]
    Transfer { url: String, message: String },
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The user's repository, opened read-only in spirit.
pub(crate) struct Repo {
    repo: Repository,
    /// The git work tree root.
    pub workdir: PathBuf,
    /// The project directory relative to `workdir` (`""` for the root).
    pub subdir: String,
}

impl Repo {
    /// Opens the repository containing `project_dir`.
    pub(crate) fn open(project_dir: &Path) -> Result<Self, Error> {
        // Objects come from the user's own repository: like git itself,
        // do not re-hash every object read (SHA-1DC made checkout of a
        // large tree ~2x slower).
        git2::opts::strict_hash_verification(false);
        // Nor check that every id orch puts into an index or commit names
        // an existing object: they all come from trees and blobs libgit2
        // just read or wrote, and the check reads one loose object per
        // file of a new worktree's index (see `Repo::populate`).
        git2::opts::strict_object_creation(false);
        let repo = Repository::discover(project_dir)
            .map_err(|_| Error::NotARepository(project_dir.to_owned()))?;
        let workdir = repo
            .workdir()
            .ok_or_else(|| Error::NotARepository(project_dir.to_owned()))?
            .canonicalize()?;
        let project = project_dir.canonicalize()?;
        let subdir = project
            .strip_prefix(&workdir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        Ok(Repo {
            repo,
            workdir,
            subdir,
        })
    }

    /// HEAD's commit id.
    pub(crate) fn head(&self) -> Result<String, Error> {
        let head = self
            .repo
            .head()
            .map_err(|_| Error::NoCommits(self.workdir.clone()))?;
        let commit = head
            .peel_to_commit()
            .map_err(|_| Error::NoCommits(self.workdir.clone()))?;
        Ok(commit.id().to_string())
    }

    /// Tracked files with uncommitted changes (staged or not), relative to
    /// the project directory.
    pub(crate) fn dirty_files(&self) -> Result<Vec<String>, Error> {
        let mut options = StatusOptions::new();
        options.include_untracked(false).include_ignored(false);
        let statuses = self.repo.statuses(Some(&mut options))?;
        let prefix = if self.subdir.is_empty() {
            String::new()
        } else {
            format!("{}/", self.subdir)
        };
        Ok(statuses
            .iter()
            .filter(|s| !s.status().is_empty())
            .filter_map(|s| s.path().ok().map(str::to_owned))
            .filter_map(|p| p.strip_prefix(&prefix).map(str::to_owned))
            .collect())
    }

    /// The size of a checkout, from the index's file sizes.
    pub(crate) fn checkout_bytes(&self) -> u64 {
        self.repo
            .index()
            .map(|index| index.iter().map(|e| u64::from(e.file_size)).sum())
            .unwrap_or(0)
    }

    /// The commit `rev` (a branch, tag, `origin/x` or commit id) names.
    pub(crate) fn resolve(&self, rev: &str) -> Result<String, Error> {
        let bad = |e: git2::Error| Error::BadBase {
            rev: rev.to_owned(),
            message: e.message().to_owned(),
        };
        let object = self.repo.revparse_single(rev).map_err(bad)?;
        let commit = object.peel_to_commit().map_err(bad)?;
        Ok(commit.id().to_string())
    }

    /// The short name of the branch HEAD is on, if it is on one.
    pub(crate) fn current_branch(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        if !head.is_branch() {
            return None;
        }
        head.shorthand().ok().map(str::to_owned)
    }

    /// The repository's git directory (shared by its worktrees).
    pub(crate) fn git_dir(&self) -> PathBuf {
        self.repo.path().to_owned()
    }

    /// Whether `name` is a local branch.
    pub(crate) fn is_branch(&self, name: &str) -> bool {
        self.repo.find_branch(name, BranchType::Local).is_ok()
    }

    /// The URL of remote `name` as configured (before `url.*.insteadOf`
    /// rewriting, which [`Repo::remote_url`] applies), if it exists.
    pub(crate) fn configured_remote_url(&self, name: &str) -> Option<String> {
        let config = self.repo.config().ok()?;
        config
            .get_string(&format!("remote.{name}.pushurl"))
            .or_else(|_| config.get_string(&format!("remote.{name}.url")))
            .ok()
    }

    /// The URL of remote `name`, if it exists.
    pub(crate) fn remote_url(&self, name: &str) -> Option<String> {
        let remote = self.repo.find_remote(name).ok()?;
        remote
            .pushurl()
            .ok()
            .flatten()
            .or(remote.url().ok())
            .map(str::to_owned)
    }

    /// Adds a linked worktree at `path` on a new temporary branch at `base`
    /// (a commit id).
    pub(crate) fn add_worktree(
        &self,
        run_id: &str,
        path: &Path,
        base: &str,
    ) -> Result<Worktree, Error> {
        let head = git2::Oid::from_str(base)
            .and_then(|oid| self.repo.find_commit(oid))
            .map_err(|e| Error::BadBase {
                rev: base.to_owned(),
                message: e.message().to_owned(),
            })?;
        let started = std::time::Instant::now();
        let temporary = format!("orch/tmp/{run_id}");
        let branch = self.repo.branch(&temporary, &head, true)?;
        let name = format!("orch-{run_id}");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let reference = branch.into_reference();
        if let Err(error) = add_unpopulated_worktree(&self.repo, &name, path, &reference) {
            if let Ok(mut b) = self.repo.find_branch(&temporary, BranchType::Local) {
                let _ = b.delete();
            }
            return Err(error.into());
        }
        tracing::debug!(
            us = started.elapsed().as_micros() as u64,
            "worktree registered"
        );
        let mut worktree = Worktree {
            name,
            path: path.to_owned(),
            temporary_branch: temporary,
            repo_path: self.repo.path().to_owned(),
            copied_files: 0,
            checked_out_files: 0,
            pristine: true,
        };
        match head
            .tree()
            .map_err(Error::from)
            .and_then(|tree| self.populate(path, &tree))
        {
            Ok((copied, checked_out)) => {
                tracing::debug!(copied, checked_out, "worktree populated");
                worktree.copied_files = copied;
                worktree.checked_out_files = checked_out;
                Ok(worktree)
            }
            Err(error) => {
                worktree.remove();
                Err(error)
            }
        }
    }

    /// Writes `tree`'s files into the new worktree at `path` and its index.
    ///
    /// A file of the user's checkout whose bytes hash to the tree's blob is
    /// copied (what a checkout would write, without inflating the object);
    /// everything else — files the user changed or deleted, files that
    /// filters or `eol` attributes transform, symlinks, submodules, paths
    /// git would refuse — is left to libgit2's checkout, as before.
    /// Returns how many files were copied and how many checked out.
    fn populate(&self, path: &Path, tree: &git2::Tree<'_>) -> Result<(usize, usize), Error> {
        let started = std::time::Instant::now();
        let worktree = Repository::open(path)?;
        let mut index = worktree.index()?;
        index.read_tree(tree)?;
        let entries: Vec<git2::IndexEntry> = index.iter().collect();
        let read = started.elapsed().as_micros() as u64;
        // Directories first, then the files on all cores (reading, hashing
        // and writing each is independent), then the index, in order.
        let mut made = std::collections::BTreeSet::new();
        for entry in &entries {
            if let Some(parent) = copyable(entry).and_then(|r| Path::new(r).parent()) {
                made.insert(parent.to_owned());
            }
        }
        for parent in &made {
            std::fs::create_dir_all(path.join(parent))?;
        }
        let workdir = self.workdir.as_path();
        let written = crate::parallel::par_map(&entries, |entry| {
            let Some(relative) = copyable(entry) else {
                return Ok(None);
            };
            let Some((bytes, modified)) = clean_copy(&workdir.join(relative), entry.id) else {
                return Ok(None);
            };
            write_file(
                &path.join(relative),
                &bytes,
                entry.mode == 0o100755,
                modified,
            )
            .map(Some)
        });
        let copy = started.elapsed().as_micros() as u64 - read;
        // Paths as the index holds them (bytes: not every path is UTF-8).
        let mut rest: Vec<Vec<u8>> = Vec::new();
        let mut copied = 0;
        for (mut entry, written) in entries.into_iter().zip(written) {
            match written? {
                Some(metadata) => {
                    stat_into(&mut entry, &metadata);
                    index.add(&entry)?;
                    copied += 1;
                }
                None => rest.push(entry.path),
            }
        }
        index.write()?;
        tracing::debug!(
            read_tree_us = read,
            copy_us = copy,
            index_us = started.elapsed().as_micros() as u64 - read - copy,
            "worktree files written"
        );
        if !rest.is_empty() {
            let mut checkout = git2::build::CheckoutBuilder::new();
            checkout
                .force()
                .recreate_missing(true)
                .disable_pathspec_match(true);
            for file in &rest {
                checkout.path(file.as_slice());
            }
            worktree.checkout_index(Some(&mut index), Some(&mut checkout))?;
        }
        Ok((copied, rest.len()))
    }

    /// The commit a local branch points at, if it exists.
    #[cfg(test)]
    pub(crate) fn branch_commit(&self, branch: &str) -> Option<String> {
        let branch = self.repo.find_branch(branch, BranchType::Local).ok()?;
        branch
            .get()
            .peel_to_commit()
            .ok()
            .map(|c| c.id().to_string())
    }
}

/// The system's CA certificates (bundle file, hashed directory) that [`init`]
/// found and defers to the first fetch or push.
static CA_LOCATIONS: OnceLock<(Option<PathBuf>, Option<PathBuf>)> = OnceLock::new();

/// Initialises libgit2 without parsing the system CA bundle.
///
/// orch's OpenSSL is built in (git2's `vendored-openssl`): a system
/// `libcrypto` costs every orch process, servers included, a millisecond of
/// dynamic linking, and most runs never touch the network. A built-in
/// OpenSSL does not know where this system keeps its certificates, so they
/// are found the way git2 finds them (`openssl-probe`: `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` first, then the usual places).
///
/// libgit2's OpenSSL set-up also reads every certificate of the default
/// bundle (`SSL_CTX_set_default_verify_paths`): about 30 ms of CPU, spent
/// even though most runs never fetch or push. The bundle is hidden from
/// that set-up (`SSL_CERT_FILE=/dev/null` for the duration of the call),
/// and [`load_ca_bundle`] hands the bundle and the directory to libgit2
/// before the first fetch or push.
///
/// Must run before any other thread exists: it sets environment variables.
pub(crate) fn init() {
    let original = std::env::var_os("SSL_CERT_FILE");
    let probed = openssl_probe::probe();
    // SAFETY: called first thing in `main`, while the process has one thread.
    unsafe { std::env::set_var("SSL_CERT_FILE", "/dev/null") };
    git2::opts::strict_hash_verification(true); // the default; initialises libgit2
    // Children (servers, tests, hooks) see what git2 would have set.
    // SAFETY: as above, still one thread.
    unsafe {
        match (&probed.cert_file, &original) {
            (Some(file), _) => std::env::set_var("SSL_CERT_FILE", file),
            (None, Some(value)) => std::env::set_var("SSL_CERT_FILE", value),
            (None, None) => std::env::remove_var("SSL_CERT_FILE"),
        }
    }
    let _ = CA_LOCATIONS.set((probed.cert_file, probed.cert_dir));
}

/// Loads the CA certificates [`init`] deferred, once, before the first
/// network use.
fn load_ca_bundle() {
    static LOADED: Once = Once::new();
    LOADED.call_once(|| {
        let Some((file, dir)) = CA_LOCATIONS.get() else {
            return;
        };
        // libgit2's option setters are not synchronised; this runs once,
        // on the thread about to fetch or push, before any TLS connection
        // uses the context it changes.
        if let Some(file) = file
            // SAFETY: see above.
            && let Err(error) = unsafe { git2::opts::set_ssl_cert_file(file) }
        {
            tracing::warn!(bundle = %file.display(), %error, "cannot load the CA bundle");
        }
        if let Some(dir) = dir
            // SAFETY: see above.
            && let Err(error) = unsafe { git2::opts::set_ssl_cert_dir(dir) }
        {
            tracing::warn!(directory = %dir.display(), %error, "cannot use the CA directory");
        }
    });
}

/// Fetches branch `branch` of `remote` into `refs/remotes/<remote>/<branch>`
/// and returns its commit.
pub(crate) fn fetch_branch(
    repo_path: &Path,
    remote: &str,
    branch: &str,
    token: Option<&Secret>,
) -> Result<String, Error> {
    load_ca_bundle();
    let repo = Repository::open(repo_path)?;
    let mut handle = repo
        .find_remote(remote)
        .map_err(|_| Error::NoRemote(remote.to_owned()))?;
    let url = redact_url(handle.url().unwrap_or(remote));
    let auth = Auth::new(token);
    let mut options = FetchOptions::new();
    options.remote_callbacks(auth.callbacks());
    let refspec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
    handle
        .fetch(&[refspec.as_str()], Some(&mut options), None)
        .map_err(|e| auth.error(&url, e))?;
    let reference = repo.find_reference(&format!("refs/remotes/{remote}/{branch}"))?;
    Ok(reference.peel_to_commit()?.id().to_string())
}

/// Force-pushes local branch `branch` to the same name on `remote`, so a
/// re-run of the same plan updates the branch. Returns the remote's URL
/// with any credentials removed.
pub(crate) fn push_branch(
    repo_path: &Path,
    remote: &str,
    branch: &str,
    token: Option<&Secret>,
) -> Result<String, Error> {
    load_ca_bundle();
    let repo = Repository::open(repo_path)?;
    let mut handle = repo
        .find_remote(remote)
        .map_err(|_| Error::NoRemote(remote.to_owned()))?;
    let url = redact_url(
        handle
            .pushurl()
            .ok()
            .flatten()
            .or(handle.url().ok())
            .unwrap_or(remote),
    );
    let auth = Auth::new(token);
    let rejected: RefCell<Option<(String, String)>> = RefCell::new(None);
    let mut callbacks = auth.callbacks();
    callbacks.push_update_reference(|refname, status| {
        if let Some(message) = status {
            *rejected.borrow_mut() = Some((refname.to_owned(), message.to_owned()));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    let refspec = format!("+refs/heads/{branch}:refs/heads/{branch}");
    handle
        .push(&[refspec.as_str()], Some(&mut options))
        .map_err(|e| auth.error(&url, e))?;
    drop(options);
    if let Some((refname, message)) = rejected.into_inner() {
        return Err(Error::Rejected {
            url,
            refname,
            message,
        });
    }
    Ok(url)
}

/// `url` without user name or password (`https://x:TOKEN@host/..` → `https://host/..`).
pub(crate) fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if let Some((_, host)) = authority.rsplit_once('@') {
            // Keep ssh's conventional `git@` user: it is not a secret.
            if scheme.starts_with("ssh")
                && !authority[..authority.len() - host.len() - 1].contains(':')
            {
                return url.to_owned();
            }
            return format!("{scheme}://{host}{path}");
        }
    }
    url.to_owned()
}

/// Credentials for one fetch or push: the token over https, else the
/// user's git credential helper; the ssh agent over ssh. Each kind is
/// offered once, so a wrong token fails instead of looping.
struct Auth<'a> {
    token: Option<&'a Secret>,
    offered_token: Cell<bool>,
    offered_helper: Cell<bool>,
    offered_agent: Cell<bool>,
}

impl<'a> Auth<'a> {
    fn new(token: Option<&'a Secret>) -> Self {
        Auth {
            token,
            offered_token: Cell::new(false),
            offered_helper: Cell::new(false),
            offered_agent: Cell::new(false),
        }
    }

    fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(move |url, username, allowed| {
            if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                if let Some(token) = self.token
                    && !self.offered_token.replace(true)
                {
                    return Cred::userpass_plaintext("x-access-token", token.expose());
                }
                if self.token.is_none()
                    && !self.offered_helper.replace(true)
                    && let Ok(config) = git2::Config::open_default()
                    && let Ok(cred) = Cred::credential_helper(&config, url, username)
                {
                    return Ok(cred);
                }
            }
            if allowed.contains(CredentialType::SSH_KEY) && !self.offered_agent.replace(true) {
                return Cred::ssh_key_from_agent(username.unwrap_or("git"));
            }
            if allowed.contains(CredentialType::USERNAME) {
                return Cred::username(username.unwrap_or("git"));
            }
            Err(git2::Error::from_str("no more credentials to offer"))
        });
        callbacks
    }

    /// Turns a transfer error into one that says what to do, with the URL
    /// redacted and the token never included.
    fn error(&self, url: &str, error: git2::Error) -> Error {
        let mut message = error.message().to_owned();
        if let Some(token) = self.token {
            message = message.replace(token.expose(), "***");
        }
        let lower = message.to_lowercase();
        if lower.contains("hostkey") || lower.contains("host key") {
            return Error::Auth {
                url: url.to_owned(),
                hint: format!(
                    "the server's host key is not in ~/.ssh/known_hosts (or does not match it); connect once with `ssh` to check and record it ({})",
                    message.trim()
                ),
            };
        }
        let auth_failed = error.code() == git2::ErrorCode::Auth
            || [
                "authentication",
                "credentials",
                "401",
                "403",
                "permission denied",
            ]
            .iter()
            .any(|m| lower.contains(m));
        if auth_failed {
            let hint = if url.starts_with("http") {
                if self.token.is_some() {
                    "the token in ORCH_GIT_TOKEN / GITHUB_TOKEN was refused (it needs contents: write on the repository)"
                } else {
                    "set ORCH_GIT_TOKEN or GITHUB_TOKEN to a token with contents: write, or configure a git credential helper"
                }
            } else if std::env::var_os("SSH_AUTH_SOCK").is_none_or(|s| !Path::new(&s).exists()) {
                "orch authenticates over ssh with your ssh agent, and none is running (SSH_AUTH_SOCK); start one and `ssh-add` your key, or use an https remote with ORCH_GIT_TOKEN"
            } else {
                "orch offers the keys in your ssh agent (`ssh-add -l` lists them); add one the server accepts"
            };
            return Error::Auth {
                url: url.to_owned(),
                hint: format!("{hint} ({})", message.trim()),
            };
        }
        Error::Transfer {
            url: url.to_owned(),
            message,
        }
    }
}

/// A commit author from `--author "Name <email>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Author {
    pub name: String,
    pub email: String,
}

impl std::str::FromStr for Author {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, rest) = text
            .split_once('<')
            .ok_or_else(|| "expected `Name <email>`".to_owned())?;
        let email = rest
            .strip_suffix('>')
            .ok_or_else(|| "expected `Name <email>`".to_owned())?
            .trim();
        let name = name.trim();
        if name.is_empty() || email.is_empty() || email.contains(['<', '>']) {
            return Err("expected `Name <email>`".to_owned());
        }
        Ok(Author {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }
}

/// orch's private worktree. [`Worktree::remove`] deletes it and its
/// temporary branch; so does dropping it.
pub(crate) struct Worktree {
    name: String,
    pub path: PathBuf,
    temporary_branch: String,
    repo_path: PathBuf,
    /// Files copied from the user's checkout when it was made.
    pub copied_files: usize,
    /// Files libgit2 checked out (changed, filtered, links, submodules).
    pub checked_out_files: usize,
    /// Exactly the base commit: nothing has written to it since it was made
    /// (EXECUTE clears this before its first write).
    pub pristine: bool,
}

impl Worktree {
    /// Commits `files` (relative to the project directory `subdir`) and
    /// points `branch` at the commit (force, so a re-run updates it).
    pub(crate) fn commit(
        &self,
        subdir: &str,
        files: &[String],
        message: &str,
        branch: &str,
        author: Option<&Author>,
    ) -> Result<String, Error> {
        let repo = Repository::open(&self.path)?;
        let author = match author {
            Some(author) => Signature::now(&author.name, &author.email)?,
            None => repo.signature().map_err(|_| Error::NoIdentity)?,
        };
        let committer = repo.signature().unwrap_or_else(|_| author.clone());
        let mut index = repo.index()?;
        for file in files {
            let path = if subdir.is_empty() {
                file.clone()
            } else {
                format!("{subdir}/{file}")
            };
            if self.path.join(&path).exists() {
                index.add_path(Path::new(&path))?;
            } else {
                index.remove_path(Path::new(&path))?;
            }
        }
        index.write()?;
        let tree = repo.find_tree(index.write_tree()?)?;
        let parent = repo.head()?.peel_to_commit()?;
        let commit = repo.commit(
            Some("HEAD"),
            &author,
            &committer,
            message,
            &tree,
            &[&parent],
        )?;
        let commit = repo.find_commit(commit)?;
        repo.branch(branch, &commit, true)?;
        Ok(commit.id().to_string())
    }

    /// The absolute path of a project file in the worktree.
    pub(crate) fn project_path(&self, subdir: &str, file: &str) -> PathBuf {
        self.path.join(Self::full(subdir, file))
    }

    fn full(subdir: &str, file: &str) -> String {
        if subdir.is_empty() {
            file.to_owned()
        } else {
            format!("{subdir}/{file}")
        }
    }

    /// Restores `files` to HEAD (so a retried EXECUTE starts clean).
    pub(crate) fn reset_files(&self, subdir: &str, files: &[String]) -> Result<(), Error> {
        if files.is_empty() {
            return Ok(());
        }
        let repo = Repository::open(&self.path)?;
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.force();
        for file in files {
            checkout.path(Self::full(subdir, file));
        }
        repo.checkout_head(Some(&mut checkout))?;
        Ok(())
    }

    /// Tracked files of the worktree at `path` that differ from HEAD,
    /// relative to the project directory (a path, not `&self`, so a caller
    /// can run it on another thread).
    pub(crate) fn changed_files_at(path: &Path, subdir: &str) -> Result<Vec<String>, Error> {
        let repo = Repository::open(path)?;
        let mut options = StatusOptions::new();
        options.include_untracked(false).include_ignored(false);
        let prefix = if subdir.is_empty() {
            String::new()
        } else {
            format!("{subdir}/")
        };
        let mut changed: Vec<String> = repo
            .statuses(Some(&mut options))?
            .iter()
            .filter(|s| !s.status().is_empty())
            .filter_map(|s| s.path().ok().map(str::to_owned))
            .map(|p| p.strip_prefix(&prefix).map(str::to_owned).unwrap_or(p))
            .collect();
        changed.sort();
        Ok(changed)
    }

    /// A unified diff (git's format) of `files` in the worktree at `path`
    /// against HEAD.
    pub(crate) fn diff_at(path: &Path, subdir: &str, files: &[String]) -> Result<String, Error> {
        let repo = Repository::open(path)?;
        let tree = repo.head()?.peel_to_tree()?;
        let mut options = git2::DiffOptions::new();
        options
            .context_lines(3)
            .include_untracked(true)
            .show_untracked_content(true)
            .recurse_untracked_dirs(true);
        // Paths, not patterns (`[` and `*` are file name characters too).
        options.disable_pathspec_match(true);
        for file in files {
            options.pathspec(Self::full(subdir, file));
        }
        let mut diff = repo.diff_tree_to_workdir(Some(&tree), Some(&mut options))?;
        // A deleted and a created file with similar content are a rename.
        let mut similar = git2::DiffFindOptions::new();
        similar.renames(true).for_untracked(true);
        diff.find_similar(Some(&mut similar))?;
        let mut out = String::new();
        diff.print(git2::DiffFormat::Patch, |_, _, line| {
            if matches!(line.origin(), '+' | '-' | ' ') {
                out.push(line.origin());
            }
            out.push_str(&String::from_utf8_lossy(line.content()));
            true
        })?;
        Ok(out)
    }

    /// [`diff_at`] of `files` (none created or deleted: a rename pairs a
    /// deleted file with a created one, which parts could split) in up to
    /// `parts` contiguous runs of the sorted paths, of about equal size,
    /// on as many threads. Each part's diff is in path order, as the whole
    /// one is, so the parts joined are the same text. A large rename's
    /// diff (libgit2 hashes, loads and diffs each file on one thread) took
    /// 12 ms on click.
    ///
    /// [`diff_at`]: Worktree::diff_at
    pub(crate) fn diff_in_parts(
        path: &Path,
        subdir: &str,
        files: &[String],
        parts: usize,
    ) -> Result<String, Error> {
        if parts <= 1 || files.len() <= 1 {
            return Self::diff_at(path, subdir, files);
        }
        let mut sorted: Vec<(String, u64)> = files
            .iter()
            .map(|f| {
                let size =
                    std::fs::metadata(path.join(Self::full(subdir, f))).map_or(0, |m| m.len());
                (f.clone(), size)
            })
            .collect();
        sorted.sort_by(|a, b| {
            Self::full(subdir, &a.0)
                .as_bytes()
                .cmp(Self::full(subdir, &b.0).as_bytes())
        });
        sorted.dedup_by(|a, b| a.0 == b.0);
        let total: u64 = sorted.iter().map(|(_, size)| size + 1).sum();
        let parts = parts.clamp(1, sorted.len().max(1)) as u64;
        let mut chunks: Vec<Vec<String>> = vec![Vec::new()];
        let mut filled = 0;
        for (file, size) in sorted {
            // A new part once this one holds its share.
            if filled * parts >= total * chunks.len() as u64 && !chunks.iter().any(Vec::is_empty) {
                chunks.push(Vec::new());
            }
            filled += size + 1;
            if let Some(last) = chunks.last_mut() {
                last.push(file);
            }
        }
        let diffs = crate::parallel::par_map(&chunks, |chunk| Self::diff_at(path, subdir, chunk));
        let mut out = String::new();
        for diff in diffs {
            out.push_str(&diff?);
        }
        Ok(out)
    }

    /// This worktree, leaving an inert one (that removes nothing) behind.
    pub(crate) fn take(&mut self) -> Worktree {
        let taken = Worktree {
            name: std::mem::take(&mut self.name),
            path: self.path.clone(),
            temporary_branch: std::mem::take(&mut self.temporary_branch),
            repo_path: self.repo_path.clone(),
            copied_files: self.copied_files,
            checked_out_files: self.checked_out_files,
            pristine: self.pristine,
        };
        self.pristine = false;
        taken
    }

    /// Removes the directory, prunes git's record of it and deletes the
    /// temporary branch.
    pub(crate) fn remove(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
        if let Ok(repo) = Repository::open(&self.repo_path) {
            if let Ok(worktree) = repo.find_worktree(&self.name) {
                let mut options = WorktreePruneOptions::new();
                options.valid(true).working_tree(true).locked(true);
                let _ = worktree.prune(Some(&mut options));
            }
            if let Ok(mut branch) = repo.find_branch(&self.temporary_branch, BranchType::Local) {
                let _ = branch.delete();
            }
        }
        self.name.clear();
    }
}

/// `git worktree add --no-checkout`: registers the worktree at `path`
/// with HEAD on `reference`, leaving the directory empty.
fn add_unpopulated_worktree(
    repo: &Repository,
    name: &str,
    path: &Path,
    reference: &git2::Reference<'_>,
) -> Result<(), git2::Error> {
    use git2::Binding;
    use libgit2_sys as raw;
    use std::os::unix::ffi::OsStrExt;

    let name = std::ffi::CString::new(name).map_err(|_| git2::Error::from_str("bad name"))?;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| git2::Error::from_str("bad worktree path"))?;
    // git2's `WorktreeAddOptions` has no way to turn the checkout off.
    let mut options = std::mem::MaybeUninit::<raw::git_worktree_add_options>::zeroed();
    let mut none = git2::build::CheckoutBuilder::new();
    none.dry_run().update_index(false);
    // SAFETY: `options` is initialised by libgit2 before use and outlives
    // the call; `reference` and `repo` are live git2 objects whose raw
    // pointers libgit2 only reads during the call; `worktree` is freed.
    unsafe {
        let code = raw::git_worktree_add_options_init(
            options.as_mut_ptr(),
            raw::GIT_WORKTREE_ADD_OPTIONS_VERSION,
        );
        if code < 0 {
            return Err(git2::Error::last_error(code));
        }
        let mut options = options.assume_init();
        options.reference = reference.raw();
        none.configure(&mut options.checkout_options);
        let mut worktree: *mut raw::git_worktree = std::ptr::null_mut();
        let code = raw::git_worktree_add(
            &mut worktree,
            repo.raw(),
            name.as_ptr(),
            path.as_ptr(),
            &options,
        );
        if code < 0 {
            return Err(git2::Error::last_error(code));
        }
        raw::git_worktree_free(worktree);
    }
    Ok(())
}

/// The relative path of a regular-file index entry that is safe to write
/// directly (`None`: symlinks, submodules, names git itself would refuse).
fn copyable(entry: &git2::IndexEntry) -> Option<&str> {
    if entry.mode != 0o100644 && entry.mode != 0o100755 {
        return None;
    }
    let path = std::str::from_utf8(&entry.path).ok()?;
    let fine = path.split('/').all(|part| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && !part.eq_ignore_ascii_case(".git")
            && !part.contains(['\\', '\0'])
    });
    fine.then_some(path)
}

/// The bytes of the user's file at `path` if they are exactly the blob
/// `id` (git's `blob <len>\0` SHA-1), with its modification time; `None`
/// for anything else.
fn clean_copy(path: &Path, id: git2::Oid) -> Option<(Vec<u8>, std::time::SystemTime)> {
    use sha1::Digest;
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() {
        return None;
    }
    let modified = metadata.modified().ok()?;
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(&bytes);
    (hasher.finalize().as_slice() == id.as_bytes()).then_some((bytes, modified))
}

/// Creates `path` with `bytes` (mode 0755 or 0644, less the umask, as git
/// does) and the modification time `modified`, and returns its metadata
/// for the index.
///
/// A copy keeps its original's time (as `cp -p` does) so that git can trust
/// its stat data. A file written now shares the kernel's coarse clock tick
/// (up to 4 ms) with the index written just after it: git cannot tell such
/// a "racily clean" file from one changed again within the same tick, so
/// every status of the run would re-read and re-hash it. An older time
/// settles it, and any later write still gets a newer one. (A copy of a
/// file the user saved in this very tick is racily clean all the same, and
/// git re-hashes it, as it should.)
fn write_file(
    path: &Path,
    bytes: &[u8],
    executable: bool,
    modified: std::time::SystemTime,
) -> std::io::Result<std::fs::Metadata> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if executable { 0o777 } else { 0o666 })
        .open(path)?;
    file.write_all(bytes)?;
    file.set_modified(modified)?;
    file.metadata()
}

/// Fills an index entry's stat fields, as a checkout does, so that git
/// status sees the file as unchanged without re-reading it.
fn stat_into(entry: &mut git2::IndexEntry, metadata: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    // The index keeps 32-bit fields: git truncates the same way.
    let time =
        |seconds: i64, nanoseconds: i64| git2::IndexTime::new(seconds as i32, nanoseconds as u32);
    entry.ctime = time(metadata.ctime(), metadata.ctime_nsec());
    entry.mtime = time(metadata.mtime(), metadata.mtime_nsec());
    entry.dev = metadata.dev() as u32;
    entry.ino = metadata.ino() as u32;
    entry.uid = metadata.uid();
    entry.gid = metadata.gid();
    entry.file_size = metadata.size() as u32;
}

impl Drop for Worktree {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_url("https://x-access-token:ghs_secret@github.com/acme/shop.git"),
            "https://github.com/acme/shop.git"
        );
        assert_eq!(
            redact_url("http://user@127.0.0.1:8080/shop.git"),
            "http://127.0.0.1:8080/shop.git"
        );
        assert_eq!(
            redact_url("ssh://git@github.com/acme/shop.git"),
            "ssh://git@github.com/acme/shop.git"
        );
        assert_eq!(
            redact_url("ssh://git:pw@github.com/acme/shop.git"),
            "ssh://github.com/acme/shop.git"
        );
        assert_eq!(
            redact_url("git@github.com:acme/shop.git"),
            "git@github.com:acme/shop.git"
        );
        assert_eq!(redact_url("/srv/git/shop.git"), "/srv/git/shop.git");
    }

    #[test]
    fn authors_parse_name_and_email() {
        let author: Author = "Jane Doe <jane@example.com>".parse().unwrap();
        assert_eq!(
            (author.name.as_str(), author.email.as_str()),
            ("Jane Doe", "jane@example.com")
        );
        for bad in ["Jane", "<jane@example.com>", "Jane <>", "Jane <a<b>"] {
            assert!(bad.parse::<Author>().is_err(), "{bad}");
        }
    }

    /// An empty repository on `main` with a git identity.
    fn init(root: &Path) {
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.name", "T"]);
        git(root, &["config", "user.email", "t@example.com"]);
    }

    #[test]
    fn a_diff_in_parts_is_the_whole_diff() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        init(root);
        // Names whose order differs between "sort the paths" and "sort
        // each directory's entries" if either were done wrong.
        let files = [
            "a.py", "a-b.py", "a/b.py", "a/c/d.py", "b.py", "big.py", "z[1].py", "z1.py",
        ];
        for (i, file) in files.iter().enumerate() {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let lines = if *file == "big.py" { 3000 } else { 20 + i };
            let text: String = (0..lines).map(|n| format!("value_{n} = {n}\n")).collect();
            std::fs::write(&path, text).unwrap();
        }
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "init"]);
        for file in &files[..7] {
            let path = root.join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace("value_3 =", "renamed_3 =")).unwrap();
        }
        let planned: Vec<String> = files.iter().rev().map(|f| f.to_string()).collect();
        let whole = Worktree::diff_at(root, "", &planned).unwrap();
        assert_eq!(whole.matches("diff --git").count(), 7, "{whole}");
        for parts in 1..=9 {
            assert_eq!(
                Worktree::diff_in_parts(root, "", &planned, parts).unwrap(),
                whole,
                "{parts} parts"
            );
        }
    }

    #[test]
    fn worktree_commit_leaves_checkout_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        init(root);
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.py"), "x = 1\n").unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "init"]);
        std::fs::write(root.join("sub/a.py"), "x = 2  # uncommitted\n").unwrap();

        let repo = Repo::open(&root.join("sub")).unwrap();
        assert_eq!(repo.subdir, "sub");
        assert_eq!(repo.dirty_files().unwrap(), ["a.py"]);
        let state = tempfile::tempdir().unwrap();
        let head = repo.head().unwrap();
        let mut worktree = repo
            .add_worktree("r1", &state.path().join("wt"), &head)
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(worktree.path.join("sub/a.py")).unwrap(),
            "x = 1\n"
        );
        std::fs::write(worktree.path.join("sub/a.py"), "x = 3\n").unwrap();
        let commit = worktree
            .commit(
                "sub",
                &["a.py".into()],
                "change\n\nOrch-Plan: abc",
                "orch/test-1",
                None,
            )
            .unwrap();
        worktree.remove();
        assert!(!state.path().join("wt").exists());
        assert_eq!(
            repo.branch_commit("orch/test-1").as_deref(),
            Some(commit.as_str())
        );
        assert!(repo.branch_commit("orch/tmp/r1").is_none());
        assert_eq!(
            std::fs::read_to_string(root.join("sub/a.py")).unwrap(),
            "x = 2  # uncommitted\n"
        );
    }

    #[test]
    fn a_new_worktree_is_exactly_the_base_commit_whatever_the_checkout_holds() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        init(root);
        let files: &[(&str, &str)] = &[
            ("a.py", "x = 1\n"),
            ("dirty.py", "clean = True\n"),
            ("gone.py", "here = True\n"),
            ("deep/er/b.py", "y = 2\n"),
            ("crlf.txt", "one\ntwo\n"),
            (".gitattributes", "crlf.txt text eol=crlf\n"),
            ("bin/run.sh", "#!/bin/sh\necho hi\n"),
        ];
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let script = root.join("bin/run.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("a.py", root.join("link.py")).unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "init"]);
        // The user's checkout: eol conversion applied, one file edited,
        // one deleted.
        std::fs::remove_file(root.join("crlf.txt")).unwrap();
        git(root, &["checkout", "--", "crlf.txt"]);
        assert_eq!(
            std::fs::read(root.join("crlf.txt")).unwrap(),
            b"one\r\ntwo\r\n"
        );
        std::fs::write(root.join("dirty.py"), "clean = False\n").unwrap();
        std::fs::remove_file(root.join("gone.py")).unwrap();

        let repo = Repo::open(root).unwrap();
        let state = tempfile::tempdir().unwrap();
        let wt_path = state.path().join("wt");
        let head = repo.head().unwrap();
        let worktree = repo.add_worktree("r2", &wt_path, &head).unwrap();
        // a.py, deep/er/b.py, .gitattributes and bin/run.sh are copied;
        // the rest go through libgit2's checkout.
        assert_eq!((worktree.copied_files, worktree.checked_out_files), (4, 4));
        for (path, text) in files {
            let expected = if *path == "crlf.txt" {
                "one\r\ntwo\r\n"
            } else {
                text
            };
            assert_eq!(
                std::fs::read_to_string(wt_path.join(path)).unwrap(),
                expected,
                "{path}"
            );
        }
        let mode = std::fs::metadata(wt_path.join("bin/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o111,
            0o111 & !umask(),
            "bin/run.sh stays executable"
        );
        let mode = std::fs::metadata(wt_path.join("a.py"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0);
        assert_eq!(
            std::fs::read_link(wt_path.join("link.py")).unwrap(),
            Path::new("a.py")
        );
        // git sees a clean worktree (index stat data and contents agree).
        assert!(Worktree::changed_files_at(&wt_path, "").unwrap().is_empty());
        let status = std::process::Command::new("git")
            .args(["status", "--porcelain"])
            .current_dir(&wt_path)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&status.stdout), "");
        // The user's checkout is as it was.
        assert_eq!(
            std::fs::read_to_string(root.join("dirty.py")).unwrap(),
            "clean = False\n"
        );
        assert!(!root.join("gone.py").exists());
    }

    #[test]
    fn a_new_worktree_keeps_file_times_older_than_its_index_and_still_sees_edits() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        init(root);
        for i in 0..200 {
            let path = root.join(format!("pkg{}/m{i}.py", i % 7));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, format!("value = {i:04}\n")).unwrap();
        }
        std::os::unix::fs::symlink("pkg0/m0.py", root.join("link.py")).unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "init"]);
        // One file through libgit2's checkout too.
        std::fs::write(root.join("pkg1/m1.py"), "edited by the user\n").unwrap();
        let repo = Repo::open(root).unwrap();
        let state = tempfile::tempdir().unwrap();
        let wt_path = state.path().join("wt");
        let head = repo.head().unwrap();
        let worktree = repo.add_worktree("r3", &wt_path, &head).unwrap();
        assert_eq!(
            (worktree.copied_files, worktree.checked_out_files),
            (199, 2)
        );

        // Every copied file is older than the index (it keeps its
        // original's time): none is racily clean, so a status trusts their
        // stat data instead of hashing every file.
        let opened = Repository::open(&wt_path).unwrap();
        let index = opened.index().unwrap();
        let stamp = std::fs::metadata(index.path().unwrap()).unwrap();
        let stamp = (stamp.mtime(), stamp.mtime_nsec());
        assert_eq!(index.len(), 201);
        let checked_out: [&[u8]; 2] = [b"pkg1/m1.py", b"link.py"];
        for entry in index
            .iter()
            .filter(|e| !checked_out.contains(&e.path.as_slice()))
        {
            let original =
                std::fs::metadata(root.join(String::from_utf8_lossy(&entry.path).as_ref()))
                    .unwrap();
            let time = (
                i64::from(entry.mtime.seconds()),
                i64::from(entry.mtime.nanoseconds()),
            );
            assert_eq!(time, (original.mtime(), original.mtime_nsec()));
            assert!(
                time < stamp,
                "{} is as new as the index",
                String::from_utf8_lossy(&entry.path)
            );
        }
        assert!(Worktree::changed_files_at(&wt_path, "").unwrap().is_empty());
        // An edit right away, same size, same inode, is still seen.
        std::fs::write(wt_path.join("pkg3/m3.py"), "value = 9999\n").unwrap();
        std::fs::remove_file(wt_path.join("pkg4/m4.py")).unwrap();
        assert_eq!(
            Worktree::changed_files_at(&wt_path, "").unwrap(),
            vec!["pkg3/m3.py".to_owned(), "pkg4/m4.py".to_owned()]
        );
    }

    fn umask() -> u32 {
        // From /proc rather than umask(2), which would change it for
        // every thread while it is read.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
    }
}
