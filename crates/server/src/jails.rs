//! The jail registry: jails by name, in creation order, with fail2ban's
//! exceptions for a missing or duplicate name (fail2ban: `server/jails.py`).

use std::ops::{Deref, DerefMut};

use ironban_config::Value;

use crate::jail::Jail;
use crate::protocol::PyException;

/// Jails in creation order (fail2ban keeps a dict).
#[derive(Debug, Default)]
pub struct Jails(Vec<Jail>);

impl Jails {
    /// The jail called `name`.
    ///
    /// # Errors
    /// `UnknownJailException(name)`.
    pub fn get(&self, name: &Value) -> Result<&Jail, PyException> {
        let n = key(name);
        self.0
            .iter()
            .find(|j| j.name == n)
            .ok_or_else(|| PyException::unknown_jail(&n))
    }

    /// The jail called `name`, mutable.
    ///
    /// # Errors
    /// `UnknownJailException(name)`.
    pub fn get_mut(&mut self, name: &Value) -> Result<&mut Jail, PyException> {
        let n = key(name);
        self.0
            .iter_mut()
            .find(|j| j.name == n)
            .ok_or_else(|| PyException::unknown_jail(&n))
    }

    /// Whether a jail called `name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.0.iter().any(|j| j.name == name)
    }

    /// Adds a jail.
    ///
    /// # Errors
    /// `DuplicateJailException(name)` when the name is taken.
    pub fn add(&mut self, jail: Jail) -> Result<(), PyException> {
        if self.exists(&jail.name) {
            return Err(PyException::duplicate_jail(&jail.name));
        }
        self.0.push(jail);
        Ok(())
    }

    /// Removes and returns the jail called `name`.
    pub fn remove_named(&mut self, name: &str) -> Option<Jail> {
        let i = self.0.iter().position(|j| j.name == name)?;
        Some(self.0.remove(i))
    }

    /// Jails sorted by name (as `status` lists them).
    pub fn sorted(&self) -> Vec<&Jail> {
        let mut v: Vec<&Jail> = self.0.iter().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

impl Deref for Jails {
    type Target = Vec<Jail>;
    fn deref(&self) -> &Vec<Jail> {
        &self.0
    }
}

impl DerefMut for Jails {
    fn deref_mut(&mut self) -> &mut Vec<Jail> {
        &mut self.0
    }
}

/// The jail name as Python would use it as a dict key.
fn key(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.repr(),
    }
}
