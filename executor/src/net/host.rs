//! Preflight's view of the host: a small synchronous rtnetlink client.
//!
//! Preflight runs before the sandbox child exists, when no tokio runtime
//! may start (KERNEL-NOTES.md), so it speaks netlink over a plain blocking
//! socket. It only reads, except to try a link kind, which it does inside
//! a throwaway network namespace that vanishes with everything in it.

use std::fs::File;

use nix::sched::{setns, unshare, CloneFlags};
use rtnetlink::packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use rtnetlink::{LinkBridge, LinkMacVlan, LinkUnspec, LinkVeth, LinkVlan};

use super::check::LinkKind;
use super::kernel::{HostLinks, KernelError};

/// A blocking rtnetlink socket in the namespace of the thread that opened it.
pub struct RouteSocket {
    socket: Socket,
    sequence: u32,
}

impl RouteSocket {
    /// Opens a socket in this thread's current network namespace.
    pub fn open() -> Result<RouteSocket, KernelError> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(RouteSocket {
            socket,
            sequence: 0,
        })
    }

    /// Sends one request and collects the messages of its answer.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, KernelError> {
        self.sequence += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.sequence;
        let mut request = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        request.finalize();
        let mut buffer = vec![0; request.buffer_len()];
        request.serialize(&mut buffer);
        self.socket.send(&buffer, 0)?;

        let mut answers = Vec::new();
        loop {
            let (data, _) = self.socket.recv_from_full()?;
            let mut offset = 0;
            while offset + 4 <= data.len() {
                let length =
                    u32::from_ne_bytes(data[offset..offset + 4].try_into().expect("four bytes"))
                        as usize;
                if length < 16 || offset + length > data.len() {
                    return Err(KernelError::other(
                        "the kernel sent a truncated netlink message",
                    ));
                }
                let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(
                    &data[offset..offset + length],
                )
                .map_err(|e| {
                    KernelError::other(format!("cannot read the kernel's netlink answer: {e}"))
                })?;
                offset += (length + 3) & !3;
                if message.header.sequence_number != self.sequence {
                    continue;
                }
                match message.payload {
                    NetlinkPayload::InnerMessage(m) => answers.push(m),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(answers),
                            Some(code) => Err(KernelError::from_errno(-code.get())),
                        }
                    }
                    NetlinkPayload::Done(_) => return Ok(answers),
                    _ => {}
                }
            }
        }
    }

    /// The link named `name`, `None` when there is none.
    pub fn link(&mut self, name: &str) -> Result<Option<LinkMessage>, KernelError> {
        let query = LinkUnspec::new_with_name(name).build();
        match self.request(RouteNetlinkMessage::GetLink(query), 0) {
            Ok(answers) => Ok(answers.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => Some(link),
                _ => None,
            })),
            Err(e) if e.is_no_device() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn create(&mut self, link: LinkMessage) -> Result<(), KernelError> {
        self.request(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }
}

/// The `IFLA_INFO_KIND` of a link, `""` for one without (a physical one).
pub fn kind_of(link: &LinkMessage) -> String {
    link.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                LinkInfo::Kind(kind) => Some(kind.to_string()),
                _ => None,
            }),
            _ => None,
        })
        .unwrap_or_default()
}

/// The host as the kernel shows it to this thread.
pub struct KernelHost {
    socket: RouteSocket,
    known: Vec<(LinkKind, bool)>,
}

impl KernelHost {
    /// Looks at the namespace of the calling thread.
    pub fn open() -> Result<KernelHost, KernelError> {
        Ok(KernelHost {
            socket: RouteSocket::open()?,
            known: Vec::new(),
        })
    }
}

impl HostLinks for KernelHost {
    fn link_kind(&mut self, name: &str) -> Result<Option<String>, KernelError> {
        Ok(self.socket.link(name)?.map(|l| kind_of(&l)))
    }

    fn supports(&mut self, kind: LinkKind) -> Result<bool, KernelError> {
        if let Some((_, known)) = self.known.iter().find(|(k, _)| *k == kind) {
            return Ok(*known);
        }
        let supported = try_kind_in_throwaway_netns(kind)?;
        self.known.push((kind, supported));
        Ok(supported)
    }
}

/// Creates a link of `kind` in a new network namespace of this thread only,
/// then returns the thread to its namespace; the new one dies with it.
/// `EOPNOTSUPP` is the kernel's answer for a kind it does not know (not
/// built in, and its module could not be loaded).
fn try_kind_in_throwaway_netns(kind: LinkKind) -> Result<bool, KernelError> {
    let home = File::open("/proc/thread-self/ns/net")?;
    unshare(CloneFlags::CLONE_NEWNET).map_err(|e| {
        KernelError::from_errno(e as i32)
            .with_context("cannot create a throwaway network namespace")
    })?;
    let outcome = try_kind_here(kind);
    setns(&home, CloneFlags::CLONE_NEWNET).map_err(|e| {
        KernelError::from_errno(e as i32)
            .with_context("cannot return to the host's network namespace")
    })?;
    outcome
}

fn try_kind_here(kind: LinkKind) -> Result<bool, KernelError> {
    let mut socket = RouteSocket::open()?;
    let unsupported = |e: &KernelError| e.errno == Some(libc::EOPNOTSUPP);
    let lower = match socket.create(LinkVeth::new("sbxprobe0", "sbxprobe1").build()) {
        Ok(()) => "sbxprobe0",
        Err(e) if unsupported(&e) => {
            if kind == LinkKind::Veth {
                return Ok(false);
            }
            return Err(e.with_context("cannot make a veth to try other link kinds on"));
        }
        Err(e) => return Err(e),
    };
    let lower_index = socket
        .link(lower)?
        .map(|l| l.header.index)
        .ok_or_else(|| KernelError::other("the probe veth vanished"))?;
    let attempt = match kind {
        LinkKind::Veth => return Ok(true),
        LinkKind::Bridge => LinkBridge::new("sbxprobe2").build(),
        LinkKind::Macvlan => LinkMacVlan::new(
            "sbxprobe2",
            lower_index,
            rtnetlink::packet_route::link::MacVlanMode::Bridge,
        )
        .build(),
        LinkKind::Vlan => LinkVlan::new("sbxprobe2", lower_index, 1).build(),
    };
    match socket.create(attempt) {
        Ok(()) => Ok(true),
        Err(e) if unsupported(&e) => Ok(false),
        Err(e) => Err(e),
    }
}
