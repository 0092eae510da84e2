//! orch's private worktree: made from the base commit (files copied from
//! the user's checkout where their bytes match, libgit2 for the rest),
//! committed to, diffed, reset and removed.

use super::*;

/// orch's private worktree. [`Worktree::remove`] deletes it and its
/// temporary branch; so does dropping it.
pub(crate) struct Worktree {
    pub(super) name: String,
    pub path: PathBuf,
    pub(super) temporary_branch: String,
    pub(super) repo_path: PathBuf,
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
pub(super) fn add_unpopulated_worktree(
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
pub(super) fn copyable(entry: &git2::IndexEntry) -> Option<&str> {
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
pub(super) fn clean_copy(path: &Path, id: git2::Oid) -> Option<(Vec<u8>, std::time::SystemTime)> {
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
pub(super) fn write_file(
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
pub(super) fn stat_into(entry: &mut git2::IndexEntry, metadata: &std::fs::Metadata) {
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
