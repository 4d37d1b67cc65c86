//! All jails of `jail.conf` & co (fail2ban `jailsreader.py`).

use super::configreader::read_named;
use super::jailreader::JailReader;
use super::{Level, Load};
use crate::error::Error;
use crate::include::{ConfigParser, INCLUDES};
use crate::stream::{str_repr, Command, Value};

/// The jails read from one configuration.
#[derive(Debug, Default)]
pub struct JailsReader {
    /// Enabled jails and broken ones, in section order.
    pub jails: Vec<JailReader>,
    /// fail2ban's return value: some jail is fine, or none is broken.
    pub ok: bool,
}

impl JailsReader {
    /// Reads `jail` and every jail section in it.
    ///
    /// # Errors
    /// Errors that stop the whole configuration in fail2ban.
    pub fn read(load: &mut Load) -> Result<JailsReader, Error> {
        let mut cp: ConfigParser = match read_named(load, "jail")? {
            Some(p) => (*p).clone(),
            None => ConfigParser::default(),
        };
        let sections: Vec<String> = cp.section_names().map(str::to_string).collect();
        let mut jails = Vec::new();
        let mut status = 0u8;
        for sec in sections {
            if sec == INCLUDES {
                continue;
            }
            let mut jail = JailReader::new(&sec);
            if jail.get_options(load, &mut cp)? {
                if jail.is_enabled() {
                    status |= 1;
                    jails.push(jail);
                }
            } else {
                load.log(
                    "fail2ban.jailsreader",
                    Level::Error,
                    format!("Errors in jail {}. Skipping...", str_repr(&sec)),
                );
                jails.push(jail);
                status |= 2;
            }
        }
        Ok(JailsReader {
            jails,
            ok: status & 1 != 0 || status & 2 == 0,
        })
    }

    /// The jails' commands followed by `start` for every jail without error.
    ///
    /// # Errors
    /// As [`JailReader::convert`].
    pub fn convert(
        &mut self,
        load: &mut Load,
        allow_no_files: bool,
    ) -> Result<Vec<Command>, Error> {
        let mut stream = Vec::new();
        for jail in &mut self.jails {
            stream.extend(jail.convert(load, allow_no_files)?);
        }
        for jail in &self.jails {
            if jail.config_error.is_none() {
                stream.push(vec![Value::str("start"), Value::str(jail.name.clone())]);
            }
        }
        Ok(stream)
    }
}
