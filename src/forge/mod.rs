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

mod author;
mod remote;
mod worktree;
pub(crate) use author::*;
pub(crate) use remote::*;
pub(crate) use worktree::*;

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

/// The user's checkout against HEAD ([`Repo::changes`]).
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub dirty: Vec<String>,
    pub untracked: Vec<String>,
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

    /// The user's checkout against HEAD, in one status pass: tracked files
    /// with uncommitted changes (staged or not), and files git neither
    /// tracks nor ignores; both relative to the project directory.
    pub(crate) fn changes(&self) -> Result<Changes, Error> {
        let mut options = StatusOptions::new();
        options
            .include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false);
        let statuses = self.repo.statuses(Some(&mut options))?;
        let prefix = if self.subdir.is_empty() {
            String::new()
        } else {
            format!("{}/", self.subdir)
        };
        let mut changes = Changes::default();
        for entry in statuses.iter() {
            let status = entry.status();
            let Some(path) = entry
                .path()
                .ok()
                .and_then(|p| p.strip_prefix(&prefix))
                .map(str::to_owned)
            else {
                continue;
            };
            if status.contains(git2::Status::WT_NEW) {
                changes.untracked.push(path);
            } else if !status.is_empty() {
                changes.dirty.push(path);
            }
        }
        Ok(changes)
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
    /// The repository's common git directory (`.git`, also from a linked
    /// worktree).
    pub(crate) fn common_dir(&self) -> PathBuf {
        self.repo.commondir().to_owned()
    }

    /// Whether the repository has commit `sha` (a hex id).
    pub(crate) fn has_commit(&self, sha: &str) -> bool {
        git2::Oid::from_str(sha).is_ok_and(|oid| self.repo.find_commit(oid).is_ok())
    }

    /// Removes what runs that no live process owns left in this repository
    /// (a run killed with SIGKILL, or by the out-of-memory killer): their
    /// servers and tests still running, their worktree directories (and
    /// scratch directories), git's registrations of them and their
    /// `orch/tmp/RUN` branches. Says what it removed.
    pub(crate) fn sweep(&self, is_live: impl Fn(&str) -> bool) -> Vec<String> {
        let mut removed = Vec::new();
        let names: Vec<String> = self
            .repo
            .worktrees()
            .map(|names| {
                names
                    .iter()
                    .flatten()
                    .flatten()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for name in names {
            let Some(run_id) = name.strip_prefix("orch-") else {
                continue;
            };
            if is_live(run_id) {
                continue;
            }
            let Ok(worktree) = self.repo.find_worktree(&name) else {
                continue;
            };
            let path = worktree.path().to_owned();
            // Its orphaned servers and tests name the worktree (or its
            // scratch directory) on their command lines.
            let mention = path.to_string_lossy().into_owned();
            for pid in crate::sys::processes_mentioning(&mention) {
                if let Ok(pid) = i32::try_from(pid) {
                    let group = crate::sys::process_group(pid as u32).unwrap_or(pid);
                    crate::sys::kill_group(group, libc::SIGKILL);
                }
            }
            let _ = std::fs::remove_dir_all(&path);
            let _ = std::fs::remove_dir_all(path.with_extension("tmp"));
            let mut options = WorktreePruneOptions::new();
            options.valid(true).working_tree(true).locked(true);
            let _ = worktree.prune(Some(&mut options));
            removed.push(format!("worktree {}", path.display()));
        }
        let branches: Vec<String> = self
            .repo
            .branches(Some(BranchType::Local))
            .map(|branches| {
                branches
                    .flatten()
                    .filter_map(|(branch, _)| branch.name().ok().flatten().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for name in branches {
            if let Some(run_id) = name.strip_prefix("orch/tmp/")
                && !is_live(run_id)
                && let Ok(mut branch) = self.repo.find_branch(&name, BranchType::Local)
                && branch.delete().is_ok()
            {
                removed.push(format!("branch {name}"));
            }
        }
        removed
    }

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
        assert_eq!(repo.changes().unwrap().dirty, ["a.py"]);
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
