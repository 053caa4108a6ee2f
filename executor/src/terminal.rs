//! The workload's terminal (`terminal = true`, `--tty`): a pty allocated by
//! sbx, its slave the workload's controlling terminal and stdio, its master
//! relayed to sbx's own stdin and stdout, the window size followed.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::termios::{self, SetArg, Termios};

/// A pty pair, both ends close-on-exec (the workload gets the slave
/// through `dup2`, which clears the flag on the copies).
#[derive(Debug)]
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// `TIOCGWINSZ` on `fd`, when it is a terminal.
pub fn window_size(fd: BorrowedFd<'_>) -> Option<libc::winsize> {
    // SAFETY: winsize is plain old data; the kernel fills it in.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize to the pointer given.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (ret == 0).then_some(size)
}

/// Copies the window size of sbx's terminal (stdin) to the pty.
pub fn follow_window_size(master: BorrowedFd<'_>) {
    if let Some(size) = window_size(std::io::stdin().as_fd()) {
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer given.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    }
}

fn set_cloexec(fd: &OwnedFd) -> Result<(), Errno> {
    nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map(drop)
}

impl Pty {
    /// Opens a pty with the window size of sbx's terminal, if it has one.
    pub fn open() -> Result<Pty, Errno> {
        let size = window_size(std::io::stdin().as_fd()).map(|s| nix::pty::Winsize {
            ws_row: s.ws_row,
            ws_col: s.ws_col,
            ws_xpixel: s.ws_xpixel,
            ws_ypixel: s.ws_ypixel,
        });
        let pair = nix::pty::openpty(size.as_ref(), None)?;
        set_cloexec(&pair.master)?;
        set_cloexec(&pair.slave)?;
        Ok(Pty {
            master: pair.master,
            slave: pair.slave,
        })
    }
}

/// sbx's stdin in raw mode while the workload has the terminal (keys go to
/// the workload's line discipline, Ctrl-C included); restored on drop.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Raw mode on stdin when it is a terminal; nothing otherwise.
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(saved) = &saved {
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, saved);
        }
    }
}

/// Copies what is readable on `from` to `to`; `false` at end of file or
/// when the other side is gone (EIO on a master whose slave closed).
pub fn relay(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buffer = [0u8; 8192];
    let n = match nix::unistd::read(from, &mut buffer) {
        Ok(0) => return false,
        Ok(n) => n,
        Err(Errno::EINTR | Errno::EAGAIN) => return true,
        Err(_) => return false,
    };
    let mut written = 0;
    while written < n {
        match nix::unistd::write(to, &buffer[written..n]) {
            Ok(w) => written += w,
            Err(Errno::EINTR | Errno::EAGAIN) => continue,
            Err(_) => return false,
        }
    }
    true
}
