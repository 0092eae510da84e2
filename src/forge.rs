//! git, through git2: the user's repository is only read; orch works in a
//! private linked worktree on a temporary branch, commits there, points
//! the result branch at that commit and removes the worktree.

use std::path::{Path, PathBuf};

use git2::{
    BranchType, Repository, Signature, StatusOptions, WorktreeAddOptions, WorktreePruneOptions,
};

/// git failures, with what to do about them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The user's repository, opened read-only in spirit.
pub struct Repo {
    repo: Repository,
    /// The git work tree root.
    pub workdir: PathBuf,
    /// The project directory relative to `workdir` (`""` for the root).
    pub subdir: String,
}

impl Repo {
    /// Opens the repository containing `project_dir`.
    pub fn open(project_dir: &Path) -> Result<Self, Error> {
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
    pub fn head(&self) -> Result<String, Error> {
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
    pub fn dirty_files(&self) -> Result<Vec<String>, Error> {
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

    /// Adds a linked worktree at `path` on a new temporary branch at HEAD.
    pub fn add_worktree(&self, run_id: &str, path: &Path) -> Result<Worktree, Error> {
        let head = self
            .repo
            .head()?
            .peel_to_commit()
            .map_err(|_| Error::NoCommits(self.workdir.clone()))?;
        let temporary = format!("orch/tmp/{run_id}");
        let branch = self.repo.branch(&temporary, &head, true)?;
        let name = format!("orch-{run_id}");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let reference = branch.into_reference();
        let mut options = WorktreeAddOptions::new();
        options.reference(Some(&reference));
        let added = self.repo.worktree(&name, path, Some(&options));
        if let Err(error) = added {
            if let Ok(mut b) = self.repo.find_branch(&temporary, BranchType::Local) {
                let _ = b.delete();
            }
            return Err(error.into());
        }
        Ok(Worktree {
            name,
            path: path.to_owned(),
            temporary_branch: temporary,
            repo_path: self.repo.path().to_owned(),
        })
    }

    /// The commit a local branch points at, if it exists.
    pub fn branch_commit(&self, branch: &str) -> Option<String> {
        let branch = self.repo.find_branch(branch, BranchType::Local).ok()?;
        branch
            .get()
            .peel_to_commit()
            .ok()
            .map(|c| c.id().to_string())
    }
}

/// orch's private worktree. [`Worktree::remove`] deletes it and its
/// temporary branch; so does dropping it.
pub struct Worktree {
    name: String,
    pub path: PathBuf,
    temporary_branch: String,
    repo_path: PathBuf,
}

impl Worktree {
    /// Commits `files` (relative to the project directory `subdir`) and
    /// points `branch` at the commit (force, so a re-run updates it).
    pub fn commit(
        &self,
        subdir: &str,
        files: &[String],
        message: &str,
        branch: &str,
    ) -> Result<String, Error> {
        let repo = Repository::open(&self.path)?;
        let signature: Signature = repo.signature().map_err(|_| Error::NoIdentity)?;
        let mut index = repo.index()?;
        for file in files {
            let path = if subdir.is_empty() {
                file.clone()
            } else {
                format!("{subdir}/{file}")
            };
            index.add_path(Path::new(&path))?;
        }
        index.write()?;
        let tree = repo.find_tree(index.write_tree()?)?;
        let parent = repo.head()?.peel_to_commit()?;
        let commit = repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &[&parent],
        )?;
        let commit = repo.find_commit(commit)?;
        repo.branch(branch, &commit, true)?;
        Ok(commit.id().to_string())
    }

    fn full(subdir: &str, file: &str) -> String {
        if subdir.is_empty() {
            file.to_owned()
        } else {
            format!("{subdir}/{file}")
        }
    }

    /// Restores `files` to HEAD (so a retried EXECUTE starts clean).
    pub fn reset_files(&self, subdir: &str, files: &[String]) -> Result<(), Error> {
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

    /// Tracked files that differ from HEAD, relative to the project directory.
    pub fn changed_files(&self, subdir: &str) -> Result<Vec<String>, Error> {
        let repo = Repository::open(&self.path)?;
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

    /// A unified diff (git's format) of `files` against HEAD.
    pub fn diff(&self, subdir: &str, files: &[String]) -> Result<String, Error> {
        let repo = Repository::open(&self.path)?;
        let tree = repo.head()?.peel_to_tree()?;
        let mut options = git2::DiffOptions::new();
        options.context_lines(3);
        for file in files {
            options.pathspec(Self::full(subdir, file));
        }
        let diff = repo.diff_tree_to_workdir(Some(&tree), Some(&mut options))?;
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

    /// Removes the directory, prunes git's record of it and deletes the
    /// temporary branch.
    pub fn remove(&mut self) {
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
    fn worktree_commit_leaves_checkout_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.name", "T"]);
        git(root, &["config", "user.email", "t@example.com"]);
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.py"), "x = 1\n").unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "init"]);
        std::fs::write(root.join("sub/a.py"), "x = 2  # uncommitted\n").unwrap();

        let repo = Repo::open(&root.join("sub")).unwrap();
        assert_eq!(repo.subdir, "sub");
        assert_eq!(repo.dirty_files().unwrap(), ["a.py"]);
        let state = tempfile::tempdir().unwrap();
        let mut worktree = repo.add_worktree("r1", &state.path().join("wt")).unwrap();
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
}
