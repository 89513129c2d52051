//! [`ReadDirectory`]: tantivy's [`MmapDirectory`] for writing, with reads served by
//! positioned reads (`pread`) instead of memory maps.
//!
//! Why: a memory-mapped file that shrinks underneath its reader (truncated by a
//! disk fault, an operator, or a tool gone wrong) turns the next access past its
//! new end into `SIGBUS`, which kills the whole process — every repository a
//! server holds, not just the damaged one. A positioned read of the same bytes
//! returns an error instead ([`std::io::ErrorKind::UnexpectedEof`]), which
//! tantivy reports as a data error and [`crate::TextIndex`] as
//! [`crate::Error::Corrupt`]. The same reasoning is why LMDB-style databases
//! either trap `SIGBUS` or avoid maps on files that can change; codectx takes the
//! second way, as tantivy's own `WrapFile` does.
//!
//! Each file is opened once when a segment is opened and the descriptor is kept:
//! a file deleted (unlinked) under a live reader stays readable until the reader
//! goes, as with the maps. The cost is a copy per read: tantivy reads a
//! segment's term dictionary and fast fields whole when it opens it, and
//! postings and stored-document blocks range by range per query.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, WatchCallback, WatchHandle, WritePtr,
};
use tantivy::HasLen;

/// A tantivy [`Directory`] over one folder: writes, locks, atomic files and
/// watches go through [`MmapDirectory`]; every read handle is a [`PreadFile`].
#[derive(Clone, Debug)]
pub struct ReadDirectory {
    root: PathBuf,
    inner: MmapDirectory,
}

impl ReadDirectory {
    /// The directory over the existing folder `root`.
    ///
    /// # Errors
    /// [`OpenDirectoryError`](tantivy::directory::error::OpenDirectoryError) when
    /// `root` does not exist or is not a folder.
    pub fn open(root: &Path) -> Result<ReadDirectory, tantivy::directory::error::OpenDirectoryError> {
        Ok(ReadDirectory { root: root.to_path_buf(), inner: MmapDirectory::open(root)? })
    }
}

impl Directory for ReadDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        let full = self.root.join(path);
        let file = File::open(&full).map_err(|error| {
            if error.kind() == io::ErrorKind::NotFound {
                OpenReadError::FileDoesNotExist(path.to_path_buf())
            } else {
                OpenReadError::wrap_io_error(error, path.to_path_buf())
            }
        })?;
        let handle = PreadFile::new(file).map_err(|error| OpenReadError::wrap_io_error(error, path.to_path_buf()))?;
        Ok(Arc::new(handle))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.inner.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.inner.atomic_write(path, data)
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }
}

/// A read-only file read with positioned reads; its length is the file's size
/// when opened.
///
/// A read of a range past the file's current end (the file was truncated since)
/// fails with [`io::ErrorKind::UnexpectedEof`]; it never signals.
#[derive(Debug)]
pub struct PreadFile {
    file: File,
    len: usize,
}

impl PreadFile {
    /// Wraps an open file.
    ///
    /// # Errors
    /// The I/O error of reading its metadata.
    pub fn new(file: File) -> io::Result<PreadFile> {
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file larger than the address space"))?;
        Ok(PreadFile { file, len })
    }
}

impl HasLen for PreadFile {
    fn len(&self) -> usize {
        self.len
    }
}

impl FileHandle for PreadFile {
    fn read_bytes(&self, range: Range<usize>) -> io::Result<OwnedBytes> {
        if range.start > range.end || range.end > self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("read of bytes {}..{} of a {}-byte file", range.start, range.end, self.len),
            ));
        }
        if range.is_empty() {
            return Ok(OwnedBytes::empty());
        }
        let mut buffer = vec![0u8; range.len()];
        read_exact_at(&self.file, &mut buffer, range.start as u64)?;
        Ok(OwnedBytes::new(buffer))
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buffer, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buffer: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buffer.is_empty() {
        match file.seek_read(buffer, offset)? {
            0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shorter than expected")),
            n => {
                buffer = &mut buffer[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_past_a_truncated_end_is_an_error_not_a_signal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segment.store");
        std::fs::write(&path, vec![7u8; 64 * 1024]).unwrap();
        let handle = PreadFile::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(handle.len(), 64 * 1024);
        assert_eq!(handle.read_bytes(100..200).unwrap().as_slice(), &[7u8; 100][..]);
        assert!(handle.read_bytes(10..10).unwrap().is_empty());

        // Truncated underneath the open handle: reads past the new end fail cleanly.
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(1000).unwrap();
        let error = handle.read_bytes(32 * 1024..33 * 1024).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(handle.read_bytes(0..1000).unwrap().len(), 1000, "bytes before the cut still read");
        // A range past the length known at open is refused the same way.
        assert_eq!(handle.read_bytes(0..64 * 1024 + 1).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }
}
