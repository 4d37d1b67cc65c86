//! The PCRE2 engine: the only module that calls PCRE2 (through `pcre2-sys`).
//!
//! Patterns arrive already translated to PCRE2 syntax (see `translate.rs`).
//! They are compiled with UTF + UCP, so `\w`, `\d`, `\s` and `\b` are
//! Unicode-aware as in Python 3's `re`, and JIT-compiled when the platform
//! has a JIT.
//!
//! Two speed-ups over the `pcre2` crate's safe API, both exact:
//! * Subjects are `&str`, so always valid UTF-8: PCRE2's per-call UTF check
//!   (and the slower invalid-UTF-tolerant JIT code of
//!   `PCRE2_MATCH_INVALID_UTF`) is skipped, and the JIT code is entered
//!   through `pcre2_jit_match`, without `pcre2_match`'s option checks.
//! * An all-ASCII subject (nearly every log line) is matched with a second,
//!   byte-mode (no UTF, no UCP) compilation of the same pattern, which is
//!   faster. On ASCII text both read the pattern the same way (`\w`, `\s`,
//!   `\d`, `\b`, `.`, classes and ASCII case folding agree), so this is only
//!   done for patterns that are pure ASCII with no `\x{…}` escape: a
//!   non-ASCII pattern character could match ASCII text by Unicode case
//!   folding (KELVIN SIGN and `k`). The byte-mode copy is compiled on first
//!   use.

use std::ptr;
use std::sync::{Arc, LazyLock, OnceLock};

use pcre2_sys::*;

use crate::cache::Cache;
use crate::error::MatchError;

/// One compiled (and, when possible, JIT-compiled) PCRE2 pattern.
struct Code {
    code: *mut pcre2_code_8,
    jit: bool,
}

// SAFETY: a compiled pattern (and its JIT code) is read-only after
// compilation; PCRE2 documents it as safe to use from several threads.
unsafe impl Send for Code {}
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        // SAFETY: `code` came from `pcre2_compile_8` and is freed once.
        unsafe { pcre2_code_free_8(self.code) }
    }
}

fn error_message(code: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length are valid.
    let rc = unsafe { pcre2_get_error_message_8(code, buf.as_mut_ptr(), buf.len()) };
    if rc < 0 {
        return format!("error code {code}");
    }
    String::from_utf8_lossy(&buf[..rc as usize]).into_owned()
}

impl Code {
    fn compile(pattern: &str, options: u32) -> Result<Code, String> {
        Code::compile_jit(pattern, options, PCRE2_JIT_COMPLETE)
    }

    /// Compiles with the given JIT modes (`PCRE2_JIT_COMPLETE`,
    /// `PCRE2_JIT_PARTIAL_HARD`).
    fn compile_jit(pattern: &str, options: u32, jit_modes: u32) -> Result<Code, String> {
        let mut err: i32 = 0;
        let mut off: usize = 0;
        // SAFETY: pointer and length describe `pattern`; out-params are valid.
        let code = unsafe {
            pcre2_compile_8(
                pattern.as_ptr(),
                pattern.len(),
                options,
                &mut err,
                &mut off,
                ptr::null_mut(),
            )
        };
        if code.is_null() {
            // Same text as the `pcre2` crate's error, which messages and
            // tests already show.
            return Err(format!(
                "PCRE2: error compiling pattern at offset {off}: {}",
                error_message(err)
            ));
        }
        // SAFETY: `code` is a valid compiled pattern.
        let jit = unsafe { pcre2_jit_compile_8(code, jit_modes) } == 0;
        Ok(Code { code, jit })
    }

    fn info_usize(&self, what: u32) -> usize {
        let mut v: u32 = 0;
        // SAFETY: these PCRE2_INFO_* items write a uint32_t.
        unsafe { pcre2_pattern_info_8(self.code, what, &mut v as *mut u32 as *mut _) };
        v as usize
    }

    /// Group names by index (index 0 is the whole match).
    fn capture_names(&self) -> Vec<Option<String>> {
        let count = self.info_usize(PCRE2_INFO_CAPTURECOUNT);
        let name_count = self.info_usize(PCRE2_INFO_NAMECOUNT);
        let size = self.info_usize(PCRE2_INFO_NAMEENTRYSIZE);
        let mut names = vec![None; count + 1];
        if name_count == 0 {
            return names;
        }
        let mut table: *const u8 = ptr::null();
        // SAFETY: PCRE2_INFO_NAMETABLE writes a pointer to the table, which
        // lives as long as the code; entries are `size` bytes each:
        // 2 bytes group number (big-endian), the name, NUL, padding.
        let table = unsafe {
            pcre2_pattern_info_8(
                self.code,
                PCRE2_INFO_NAMETABLE,
                &mut table as *mut *const u8 as *mut _,
            );
            std::slice::from_raw_parts(table, name_count * size)
        };
        for entry in table.chunks_exact(size) {
            let index = (entry[0] as usize) << 8 | entry[1] as usize;
            let name = &entry[2..];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            if let Some(slot) = names.get_mut(index) {
                *slot = Some(String::from_utf8_lossy(&name[..end]).into_owned());
            }
        }
        names
    }
}

/// The per-thread JIT stack (4 MiB max) and the match context carrying it.
/// Matches on one thread never overlap, so one stack per thread suffices.
struct MatchContext {
    ctx: *mut pcre2_match_context_8,
}

impl MatchContext {
    fn new() -> MatchContext {
        // SAFETY: plain constructors; a null stack means PCRE2's default
        // 32 KiB machine-stack area, which still works, only smaller.
        unsafe {
            let ctx = pcre2_match_context_create_8(ptr::null_mut());
            // Deeply nested alternations (e.g. `(?:...){0,3}`) can need more
            // than PCRE2's 32 KiB default JIT stack on long lines.
            let stack = pcre2_jit_stack_create_8(32 * 1024, 4 * 1024 * 1024, ptr::null_mut());
            if !ctx.is_null() && !stack.is_null() {
                pcre2_jit_stack_assign_8(ctx, None, stack as *mut _);
            }
            MatchContext { ctx }
        }
    }
}

thread_local! {
    static MATCH_CONTEXT: MatchContext = MatchContext::new();
}

/// A compiled PCRE2 regex, shared with every other pattern of the same text
/// and flags (see `cache.rs`); match data stays per caller.
#[derive(Debug)]
pub(crate) struct Engine {
    re: Arc<Compiled>,
}

/// Compiled regexes by (PCRE2 text, multiline, caseless).
static COMPILED: LazyLock<Cache<(String, bool, bool), Compiled>> = LazyLock::new(Cache::new);

/// The shared part of an [`Engine`].
pub(crate) struct Compiled {
    utf: Code,
    /// The byte-mode copy for ASCII subjects: unset until first needed,
    /// `None` when the pattern does not allow it.
    ascii: OnceLock<Option<Code>>,
    ascii_ok: bool,
    /// JIT code for `PCRE2_PARTIAL_HARD` matches (UTF, byte mode), for
    /// [`Engine::complete_within`]; built on first use, `None` without JIT.
    partial: [OnceLock<Option<Code>>; 2],
    pattern: String,
    options: u32,
    names: Vec<Option<String>>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("pattern", &self.pattern)
            .field("jit", &self.utf.jit)
            .finish()
    }
}

/// Reusable capture slots for one [`Engine`].
pub(crate) struct EngineCaptures {
    md: *mut pcre2_match_data_8,
    /// Group spans of the last successful match (`usize::MAX` = unset).
    ovector: *const usize,
    len: usize,
    /// Match data for [`Engine::complete_within`]'s partial matches (null
    /// until first used), so `md` keeps the real match.
    scratch: *mut pcre2_match_data_8,
}

// SAFETY: the match data is owned by this value and only used through
// `&mut self` (matching) or `&self` after a match (reading spans).
unsafe impl Send for EngineCaptures {}
unsafe impl Sync for EngineCaptures {}

impl Drop for EngineCaptures {
    fn drop(&mut self) {
        // SAFETY: `md` came from `pcre2_match_data_create_from_pattern_8`.
        unsafe {
            pcre2_match_data_free_8(self.md);
            if !self.scratch.is_null() {
                pcre2_match_data_free_8(self.scratch);
            }
        }
    }
}

impl std::fmt::Debug for EngineCaptures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineCaptures")
            .field("len", &self.len)
            .finish()
    }
}

/// True when a byte-mode compilation reads `pcre` as UTF mode does on ASCII text.
fn ascii_equivalent(pcre: &str) -> bool {
    pcre.is_ascii() && !pcre.contains("\\x{")
}

impl Engine {
    pub(crate) fn compile(pcre: &str, multiline: bool, caseless: bool) -> Result<Engine, String> {
        let key = (pcre.to_string(), multiline, caseless);
        COMPILED
            .get_or_build(key, || Compiled::build(pcre, multiline, caseless))
            .map(|re| Engine { re })
    }

    pub(crate) fn names(&self) -> &[Option<String>] {
        &self.re.names
    }

    pub(crate) fn new_captures(&self) -> EngineCaptures {
        self.re.new_captures()
    }

    pub(crate) fn find_at(
        &self,
        hay: &str,
        start: usize,
    ) -> Result<Option<(usize, usize)>, MatchError> {
        let mut caps = self.new_captures();
        if self.captures_at(hay, start, hay.is_ascii(), &mut caps)? {
            Ok(caps.get(0))
        } else {
            Ok(None)
        }
    }

    /// `ascii` must be `hay.is_ascii()`; callers that already know it save the scan.
    pub(crate) fn captures_at(
        &self,
        hay: &str,
        start: usize,
        ascii: bool,
        caps: &mut EngineCaptures,
    ) -> Result<bool, MatchError> {
        debug_assert_eq!(ascii, hay.is_ascii());
        self.re.run(hay, start, ascii, caps.md)
    }

    /// True when the match in `caps` (made by `captures_at` on a subject
    /// starting with `prefix`, at `start`, with the same `ascii`) provably
    /// depends on nothing after `prefix`: a `PCRE2_PARTIAL_HARD` match on
    /// `prefix` alone returns a complete match with the same spans. Hard
    /// partial matching returns "partial" as soon as any path reads (or
    /// asserts) past the end of `prefix`, so a complete result means no
    /// path tried before or by the winning one looked further; every
    /// subject with this prefix then matches exactly so.
    pub(crate) fn complete_within(
        &self,
        prefix: &str,
        start: usize,
        ascii: bool,
        caps: &mut EngineCaptures,
    ) -> bool {
        let Some(code) = self.re.partial_for(ascii) else {
            return false;
        };
        if start > prefix.len() || !prefix.is_char_boundary(start) || prefix.is_empty() {
            return false;
        }
        if caps.scratch.is_null() {
            // SAFETY: `utf.code` is valid; sized for its groups.
            caps.scratch = unsafe {
                pcre2_match_data_create_from_pattern_8(self.re.utf.code, ptr::null_mut())
            };
            if caps.scratch.is_null() {
                return false;
            }
        }
        let md = caps.scratch;
        let rc = MATCH_CONTEXT.with(|mc| {
            // SAFETY: as in `run`: valid UTF-8 subject, `start` on a char
            // boundary, match data sized for the pattern; the code was
            // JIT-compiled for hard partial matching.
            unsafe {
                pcre2_jit_match_8(
                    code.code,
                    prefix.as_ptr(),
                    prefix.len(),
                    start,
                    PCRE2_PARTIAL_HARD,
                    md,
                    mc.ctx,
                )
            }
        });
        if rc <= 0 {
            return false;
        }
        // SAFETY: both ovectors hold `len` pairs of the same pattern.
        let other = unsafe { pcre2_get_ovector_pointer_8(md) as *const usize };
        (0..2 * caps.len).all(|k| unsafe { *other.add(k) == *caps.ovector.add(k) })
    }
}

impl Compiled {
    fn build(pcre: &str, multiline: bool, caseless: bool) -> Result<Compiled, String> {
        let mut options = 0;
        if multiline {
            options |= PCRE2_MULTILINE;
        }
        if caseless {
            options |= PCRE2_CASELESS;
        }
        let utf = Code::compile(pcre, options | PCRE2_UTF | PCRE2_UCP)?;
        let names = utf.capture_names();
        Ok(Compiled {
            utf,
            ascii: OnceLock::new(),
            ascii_ok: ascii_equivalent(pcre),
            partial: [OnceLock::new(), OnceLock::new()],
            pattern: pcre.to_string(),
            options,
            names,
        })
    }

    fn new_captures(&self) -> EngineCaptures {
        // SAFETY: `utf.code` is valid; the match data is sized for its
        // groups, which the byte-mode copy shares (same pattern text).
        let md = unsafe { pcre2_match_data_create_from_pattern_8(self.utf.code, ptr::null_mut()) };
        assert!(!md.is_null(), "PCRE2 out of memory");
        // SAFETY: `md` is valid.
        let (ovector, len) = unsafe {
            (
                pcre2_get_ovector_pointer_8(md) as *const usize,
                pcre2_get_ovector_count_8(md) as usize,
            )
        };
        EngineCaptures {
            md,
            ovector,
            len,
            scratch: ptr::null_mut(),
        }
    }

    /// The `PCRE2_PARTIAL_HARD` JIT code matching like `code_for(ascii)`.
    fn partial_for(&self, ascii: bool) -> Option<&Code> {
        let byte_mode = ascii && self.ascii_ok;
        let options = if byte_mode {
            self.options
        } else {
            self.options | PCRE2_UTF | PCRE2_UCP
        };
        self.partial[usize::from(byte_mode)]
            .get_or_init(|| {
                Code::compile_jit(&self.pattern, options, PCRE2_JIT_PARTIAL_HARD)
                    .ok()
                    .filter(|c| c.jit)
            })
            .as_ref()
    }

    fn code_for(&self, ascii: bool) -> &Code {
        if ascii && self.ascii_ok {
            let c = self
                .ascii
                .get_or_init(|| Code::compile(&self.pattern, self.options).ok());
            if let Some(c) = c {
                return c;
            }
        }
        &self.utf
    }

    /// Runs the match into `md`; true on a match.
    fn run(
        &self,
        hay: &str,
        start: usize,
        ascii: bool,
        md: *mut pcre2_match_data_8,
    ) -> Result<bool, MatchError> {
        if start > hay.len() || !hay.is_char_boundary(start) {
            return Err(MatchError(format!(
                "start offset {start} is not a character boundary"
            )));
        }
        static EMPTY: [u8; 1] = [0];
        let subject = if hay.is_empty() {
            EMPTY.as_ptr()
        } else {
            hay.as_ptr()
        };
        let code = self.code_for(ascii);
        let rc = MATCH_CONTEXT.with(|mc| {
            // SAFETY: `subject`/`len` describe valid UTF-8 (a `&str`), so
            // skipping PCRE2's UTF check is allowed; `start` is a char
            // boundary; `md` was sized for this pattern.
            unsafe {
                if code.jit {
                    pcre2_jit_match_8(code.code, subject, hay.len(), start, 0, md, mc.ctx)
                } else {
                    pcre2_match_8(
                        code.code,
                        subject,
                        hay.len(),
                        start,
                        PCRE2_NO_UTF_CHECK,
                        md,
                        mc.ctx,
                    )
                }
            }
        });
        if rc > 0 {
            Ok(true)
        } else if rc == PCRE2_ERROR_NOMATCH || rc == 0 {
            Ok(rc == 0)
        } else {
            Err(MatchError(format!(
                "PCRE2: error matching: {}",
                error_message(rc)
            )))
        }
    }
}

impl EngineCaptures {
    pub(crate) fn get(&self, i: usize) -> Option<(usize, usize)> {
        if i >= self.len {
            return None;
        }
        // SAFETY: the ovector holds `len` pairs and lives as long as `md`.
        let (s, e) = unsafe { (*self.ovector.add(2 * i), *self.ovector.add(2 * i + 1)) };
        if s == usize::MAX || e == usize::MAX {
            None
        } else {
            Some((s, e))
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}
