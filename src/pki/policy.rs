//! Certificate policy processing, RFC 5280 §6.1.2–6.1.5: the valid policy
//! tree, explicit-policy, policy-mapping and inhibit-anyPolicy counters.
//! Run on a path already built and checked for signatures and validity.

use std::collections::BTreeSet;

use crate::der::{self, TAG_INTEGER, TAG_SEQUENCE};

use super::cert::Extension;

pub const ANY_POLICY: &str = "2.5.29.32.0";
const OID_CERT_POLICIES: &str = "2.5.29.32";
const OID_POLICY_MAPPINGS: &str = "2.5.29.33";
const OID_POLICY_CONSTRAINTS: &str = "2.5.29.36";
const OID_INHIBIT_ANY: &str = "2.5.29.54";

/// The four policy inputs of RFC 5280 §6.1.1 (c), (e), (f), (g).
#[derive(Clone, Debug, Default)]
pub struct PolicyInputs {
    /// Empty means { anyPolicy }.
    pub user_initial_policy_set: Vec<String>,
    pub initial_policy_mapping_inhibit: bool,
    pub initial_explicit_policy: bool,
    pub initial_any_policy_inhibit: bool,
}

/// What one certificate says about policies.
pub struct CertPolicies {
    pub self_issued: bool,
    /// `None`: no certificatePolicies extension.
    pub policies: Option<Vec<String>>,
    pub mappings: Vec<(String, String)>,
    pub require_explicit: Option<u64>,
    pub inhibit_mapping: Option<u64>,
    pub inhibit_any: Option<u64>,
}

fn small_uint(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 8 || v.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    Some(v.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
}

impl CertPolicies {
    /// Read from a certificate's extensions; malformed policy extensions are an error.
    pub fn from_extensions(exts: &[Extension], self_issued: bool) -> Result<Self, &'static str> {
        let mut out = CertPolicies {
            self_issued,
            policies: None,
            mappings: Vec::new(),
            require_explicit: None,
            inhibit_mapping: None,
            inhibit_any: None,
        };
        for e in exts {
            match e.oid.as_str() {
                OID_CERT_POLICIES => {
                    let t = der::parse_exact(&e.value)
                        .and_then(|t| t.expect(TAG_SEQUENCE))
                        .map_err(|_| "malformed certificatePolicies")?;
                    let mut list = Vec::new();
                    for pi in t.children() {
                        let pi = pi
                            .and_then(|p| p.expect(TAG_SEQUENCE))
                            .map_err(|_| "malformed certificatePolicies")?;
                        let mut r = pi.children();
                        let id =
                            der::read_oid(&mut r).map_err(|_| "malformed certificatePolicies")?;
                        if list.contains(&id) {
                            return Err(
                                "certificatePolicies names a policy twice (RFC 5280 §4.2.1.4)",
                            );
                        }
                        list.push(id);
                    }
                    if list.is_empty() {
                        return Err("empty certificatePolicies");
                    }
                    out.policies = Some(list);
                }
                OID_POLICY_MAPPINGS => {
                    let t = der::parse_exact(&e.value)
                        .and_then(|t| t.expect(TAG_SEQUENCE))
                        .map_err(|_| "malformed policyMappings")?;
                    for m in t.children() {
                        let m = m
                            .and_then(|m| m.expect(TAG_SEQUENCE))
                            .map_err(|_| "malformed policyMappings")?;
                        let mut r = m.children();
                        let a = der::read_oid(&mut r).map_err(|_| "malformed policyMappings")?;
                        let b = der::read_oid(&mut r).map_err(|_| "malformed policyMappings")?;
                        out.mappings.push((a, b));
                    }
                }
                OID_POLICY_CONSTRAINTS => {
                    let t = der::parse_exact(&e.value)
                        .and_then(|t| t.expect(TAG_SEQUENCE))
                        .map_err(|_| "malformed policyConstraints")?;
                    for f in t.children() {
                        let f = f.map_err(|_| "malformed policyConstraints")?;
                        let v = small_uint(f.value).ok_or("malformed policyConstraints")?;
                        match f.tag {
                            0x80 => out.require_explicit = Some(v),
                            0x81 => out.inhibit_mapping = Some(v),
                            _ => return Err("malformed policyConstraints"),
                        }
                    }
                    if out.require_explicit.is_none() && out.inhibit_mapping.is_none() {
                        return Err("empty policyConstraints (RFC 5280 §4.2.1.11)");
                    }
                }
                OID_INHIBIT_ANY => {
                    let t = der::parse_exact(&e.value)
                        .and_then(|t| t.expect(TAG_INTEGER))
                        .map_err(|_| "malformed inhibitAnyPolicy")?;
                    out.inhibit_any =
                        Some(small_uint(t.value).ok_or("malformed inhibitAnyPolicy")?);
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

#[derive(Clone, Debug)]
struct Node {
    depth: usize,
    policy: String,
    expected: BTreeSet<String>,
    parent: Option<usize>,
    alive: bool,
}

struct Tree {
    nodes: Vec<Node>,
}

/// Most nodes the tree may hold (the policy tree can grow exponentially with
/// crafted mappings; a named limit keeps it bounded).
const MAX_NODES: usize = 10_000;

impl Tree {
    fn at(&self, depth: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| {
                self.nodes
                    .get(*i)
                    .is_some_and(|n| n.alive && n.depth == depth)
            })
            .collect()
    }
    fn add(&mut self, n: Node) -> Result<(), &'static str> {
        if self.nodes.len() >= MAX_NODES {
            return Err("policy tree too large");
        }
        self.nodes.push(n);
        Ok(())
    }
    fn has_children(&self, i: usize) -> bool {
        self.nodes.iter().any(|n| n.alive && n.parent == Some(i))
    }
    /// Delete nodes of depth < `below` that have no children, repeatedly.
    fn prune(&mut self, below: usize) {
        for d in (0..below).rev() {
            for i in self.at(d) {
                if !self.has_children(i) {
                    self.kill(i);
                }
            }
        }
    }
    fn kill(&mut self, i: usize) {
        if let Some(n) = self.nodes.get_mut(i) {
            n.alive = false;
        }
    }
    fn policy_is(&self, i: usize, policy: &str) -> bool {
        self.nodes.get(i).is_some_and(|n| n.policy == policy)
    }
    fn parent_of(&self, i: usize) -> Option<usize> {
        self.nodes.get(i).and_then(|n| n.parent)
    }
    fn delete_subtree(&mut self, i: usize) {
        self.kill(i);
        let kids: Vec<usize> = (0..self.nodes.len())
            .filter(|k| {
                self.nodes
                    .get(*k)
                    .is_some_and(|n| n.alive && n.parent == Some(i))
            })
            .collect();
        for k in kids {
            self.delete_subtree(k);
        }
    }
    fn is_empty(&self) -> bool {
        !self.nodes.iter().any(|n| n.alive)
    }
}

/// Run RFC 5280 policy processing over `path` (certificates from the one
/// issued by the trust anchor down to the end entity). `Err` names the rule
/// that made the path invalid.
pub fn process(path: &[CertPolicies], inputs: &PolicyInputs) -> Result<(), &'static str> {
    let n = path.len();
    let start = |inhibited: bool| {
        if inhibited {
            0
        } else {
            (n as u64).saturating_add(1)
        }
    };
    let mut explicit_policy = start(inputs.initial_explicit_policy);
    let mut inhibit_any = start(inputs.initial_any_policy_inhibit);
    let mut policy_mapping = start(inputs.initial_policy_mapping_inhibit);
    let mut tree: Option<Tree> = Some(Tree {
        nodes: vec![Node {
            depth: 0,
            policy: ANY_POLICY.into(),
            expected: [ANY_POLICY.to_string()].into(),
            parent: None,
            alive: true,
        }],
    });
    for (idx, c) in path.iter().enumerate() {
        let i = idx.saturating_add(1);
        // §6.1.3 (d), (e)
        match (&c.policies, tree.as_mut()) {
            (Some(pols), Some(t)) => {
                let prev = t.at(idx);
                for p in pols.iter().filter(|p| p.as_str() != ANY_POLICY) {
                    let matching: Vec<usize> = prev
                        .iter()
                        .copied()
                        .filter(|k| t.nodes.get(*k).is_some_and(|x| x.expected.contains(p)))
                        .collect();
                    if !matching.is_empty() {
                        for k in matching {
                            t.add(Node {
                                depth: i,
                                policy: p.clone(),
                                expected: [p.clone()].into(),
                                parent: Some(k),
                                alive: true,
                            })?;
                        }
                    } else if let Some(any) =
                        prev.iter().copied().find(|k| t.policy_is(*k, ANY_POLICY))
                    {
                        t.add(Node {
                            depth: i,
                            policy: p.clone(),
                            expected: [p.clone()].into(),
                            parent: Some(any),
                            alive: true,
                        })?;
                    }
                }
                let has_any = pols.iter().any(|p| p == ANY_POLICY);
                if has_any && (inhibit_any > 0 || (i < n && c.self_issued)) {
                    for k in prev {
                        let existing: BTreeSet<String> = t
                            .nodes
                            .iter()
                            .filter(|x| x.alive && x.parent == Some(k))
                            .map(|x| x.policy.clone())
                            .collect();
                        let expected: Vec<String> = t
                            .nodes
                            .get(k)
                            .map(|x| x.expected.iter().cloned().collect())
                            .unwrap_or_default();
                        for e in expected {
                            if !existing.contains(&e) {
                                t.add(Node {
                                    depth: i,
                                    policy: e.clone(),
                                    expected: [e].into(),
                                    parent: Some(k),
                                    alive: true,
                                })?;
                            }
                        }
                    }
                }
                t.prune(i);
                if t.is_empty() {
                    tree = None;
                }
            }
            (None, _) => tree = None,
            (Some(_), None) => {}
        }
        // (f)
        if explicit_policy == 0 && tree.is_none() {
            return Err(
                "RFC 5280 §6.1.3 (f): no valid policy while an explicit policy is required",
            );
        }
        if i == n {
            break;
        }
        // §6.1.4 (a), (b)
        if c.mappings
            .iter()
            .any(|(a, b)| a == ANY_POLICY || b == ANY_POLICY)
        {
            return Err("RFC 5280 §6.1.4 (a): policyMappings maps anyPolicy");
        }
        if !c.mappings.is_empty() {
            if let Some(t) = tree.as_mut() {
                let issuer_pols: BTreeSet<&String> = c.mappings.iter().map(|(a, _)| a).collect();
                for idp in issuer_pols {
                    let mapped: BTreeSet<String> = c
                        .mappings
                        .iter()
                        .filter(|(a, _)| a == idp)
                        .map(|(_, b)| b.clone())
                        .collect();
                    let level = t.at(i);
                    let hits: Vec<usize> = level
                        .iter()
                        .copied()
                        .filter(|k| t.policy_is(*k, idp))
                        .collect();
                    if policy_mapping > 0 {
                        if !hits.is_empty() {
                            for k in hits {
                                if let Some(x) = t.nodes.get_mut(k) {
                                    x.expected = mapped.clone();
                                }
                            }
                        } else if let Some(any) =
                            level.iter().copied().find(|k| t.policy_is(*k, ANY_POLICY))
                        {
                            let parent = t.parent_of(any);
                            t.add(Node {
                                depth: i,
                                policy: idp.clone(),
                                expected: mapped.clone(),
                                parent,
                                alive: true,
                            })?;
                        }
                    } else {
                        for k in hits {
                            t.delete_subtree(k);
                        }
                        t.prune(i);
                    }
                }
                if t.is_empty() {
                    tree = None;
                }
            }
        }
        // (h)
        if !c.self_issued {
            explicit_policy = explicit_policy.saturating_sub(1);
            policy_mapping = policy_mapping.saturating_sub(1);
            inhibit_any = inhibit_any.saturating_sub(1);
        }
        // (i), (j)
        if let Some(r) = c.require_explicit {
            explicit_policy = explicit_policy.min(r);
        }
        if let Some(q) = c.inhibit_mapping {
            policy_mapping = policy_mapping.min(q);
        }
        if let Some(a) = c.inhibit_any {
            inhibit_any = inhibit_any.min(a);
        }
    }
    // §6.1.5 (a), (b)
    explicit_policy = explicit_policy.saturating_sub(1);
    if path.last().and_then(|c| c.require_explicit) == Some(0) {
        explicit_policy = 0;
    }
    // (g) intersection with the user-initial-policy-set.
    let user: BTreeSet<String> = inputs.user_initial_policy_set.iter().cloned().collect();
    if let Some(t) = tree.as_mut() {
        if !user.is_empty() && !user.contains(ANY_POLICY) {
            // Nodes whose parent is an anyPolicy node.
            let valid_set: Vec<usize> = (0..t.nodes.len())
                .filter(|k| t.nodes.get(*k).is_some_and(|x| x.alive))
                .filter(|k| t.parent_of(*k).is_some_and(|p| t.policy_is(p, ANY_POLICY)))
                .collect();
            for k in &valid_set {
                let Some(p) = t.nodes.get(*k).map(|x| x.policy.clone()) else {
                    continue;
                };
                if p != ANY_POLICY && !user.contains(&p) {
                    t.delete_subtree(*k);
                }
            }
            let leaf_any = t.at(n).into_iter().find(|k| t.policy_is(*k, ANY_POLICY));
            if let Some(any) = leaf_any {
                let present: BTreeSet<String> = valid_set
                    .iter()
                    .filter_map(|k| t.nodes.get(*k))
                    .filter(|x| x.alive)
                    .map(|x| x.policy.clone())
                    .collect();
                let parent = t.parent_of(any);
                for p in user.iter().filter(|p| !present.contains(*p)) {
                    t.add(Node {
                        depth: n,
                        policy: p.clone(),
                        expected: [p.clone()].into(),
                        parent,
                        alive: true,
                    })?;
                }
                t.kill(any);
            }
            t.prune(n);
            if t.is_empty() {
                tree = None;
            }
        }
    }
    if explicit_policy > 0 || tree.is_some() {
        Ok(())
    } else {
        Err(
            "RFC 5280 §6.1.5 (g): the path has no acceptable policy and an explicit policy is required",
        )
    }
}
