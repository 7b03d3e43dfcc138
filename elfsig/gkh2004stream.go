package elfsig

import (
	"crypto"
	"debug/elf"
	"fmt"
	"io"
	"strings"

	"github.com/kmodsig/kmodsig/formats"
)

// GKHRule selects which sections make up the gkh2004 "text/data section stream". The era had
// two rules that disagree (FORMATS.md gkh2004, Payload); kmodsig implements both and a third,
// the early Fedora (RH-0) variant.
type GKHRule int

const (
	// GKHKernelRule is kernel/module-sig.c: every section i = 1 … e_shnum−1 in header order
	// whose name contains "text" or "data" and not ".rel.", with no type, flag or size test;
	// sh_size bytes at sh_offset each (for a NOBITS section, whatever the file holds there).
	// ".rela.text" is included: the 64-bit .rela. quirk. A plain ".bss" is not (its name has
	// neither substring, whatever FORMATS.md's table suggests); only a NOBITS section named
	// with "text" or "data" has its file bytes hashed.
	GKHKernelRule GKHRule = iota
	// GKHLibbfdRule is the signer, security/rsa/userspace/mod.c over libbfd: the sections
	// libbfd lists, in file order, that have contents (not NOBITS), a non-zero size and a name
	// containing "text" or "data", with no ".rel." test. Relocation sections are not libbfd
	// sections, so REL and RELA sections are excluded [inferred from libbfd's ELF reader].
	GKHLibbfdRule
	// GKHRH0Rule is the early Fedora Core (RH-0) filter: the kernel rule, also excluding
	// ".rela." names (FORMATS.md rhel5, RH-0 payload).
	GKHRH0Rule
)

// String names the rule as Notes and the CLI print it.
func (r GKHRule) String() string {
	switch r {
	case GKHKernelRule:
		return "kernel"
	case GKHLibbfdRule:
		return "libbfd"
	case GKHRH0Rule:
		return "rh0"
	}
	return fmt.Sprintf("GKHRule(%d)", int(r))
}

// GKHSections returns the sections rule r selects, in header order. The section named
// module_sig is never selected (no rule would: its name has neither "text" nor "data").
func (f *File) GKHSections(r GKHRule) []*Section {
	var out []*Section
	for _, s := range f.Sections[min(1, len(f.Sections)):] {
		if s.Name == GKHSection {
			continue
		}
		if !strings.Contains(s.Name, "text") && !strings.Contains(s.Name, "data") {
			continue
		}
		switch r {
		case GKHKernelRule:
			if strings.Contains(s.Name, ".rel.") {
				continue
			}
		case GKHRH0Rule:
			if strings.Contains(s.Name, ".rel.") || strings.Contains(s.Name, ".rela.") {
				continue
			}
		case GKHLibbfdRule:
			if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL || s.Size == 0 || s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA {
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// GKHStream returns the stream rule r selects (see [File.Stream]) and its length.
func (f *File) GKHStream(r GKHRule) (io.Reader, int64, error) {
	r2, n, err := f.Stream(f.GKHSections(r))
	if err != nil {
		return nil, 0, fmt.Errorf("gkh2004 %s-rule stream: %w", r, err)
	}
	return r2, n, nil
}

// GKHDigest returns h over the stream rule r selects (SHA-1 is what the era used).
func (f *File) GKHDigest(r GKHRule, h crypto.Hash) ([]byte, error) {
	rd, _, err := f.GKHStream(r)
	if err != nil {
		return nil, err
	}
	return formats.Digest(h, rd)
}

// GKHDisagreement explains how the kernel and libbfd rules differ on f, one line per section
// only one of them selects, or returns nil when they select the same sections.
func (f *File) GKHDisagreement() []string {
	k, l := f.GKHSections(GKHKernelRule), f.GKHSections(GKHLibbfdRule)
	in := func(s *Section, set []*Section) bool {
		for _, t := range set {
			if t == s {
				return true
			}
		}
		return false
	}
	var out []string
	for _, s := range f.Sections {
		ik, il := in(s, k), in(s, l)
		switch {
		case ik && !il && s.Size == 0:
			// An empty section adds no bytes; the streams still agree on it.
		case ik && !il:
			why := ""
			switch {
			case s.Type == elf.SHT_RELA:
				why = " (the 64-bit .rela. quirk: \".rela.\" does not contain \".rel.\")"
			case s.Type == elf.SHT_NOBITS:
				why = " (NOBITS: the kernel hashes whatever the file holds at sh_offset)"
			}
			out = append(out, fmt.Sprintf("section %d %q: hashed by the kernel rule, not by the libbfd signer%s", s.Index, s.Name, why))
		case il && !ik:
			out = append(out, fmt.Sprintf("section %d %q: hashed by the libbfd signer, not by the kernel rule (name contains \".rel.\")", s.Index, s.Name))
		}
	}
	return out
}
