package kbuild

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// FuncFilesName is the function-to-source index published beside each
// kernel: one line per function, "name<TAB>file[,file...]". A lean kernel
// has no DWARF, so this is how the lab says which file a PC's function is
// in. Static functions of the same name in several files list them all.
const FuncFilesName = "funcs.tsv"

// IndexFunctions maps every function defined by the objects linked into
// vmlinux to its source file, relative to the source tree. The objects are
// the members of tree/vmlinux.a, the thin archive kbuild links vmlinux
// from, so objects left in tree by an older config are not counted. src is
// the source tree, used to tell a .c from a .S. A weak function that a
// strong one overrides (sched_clock in kernel/sched/clock.c and in tsc.c)
// names the strong one's file only.
func IndexFunctions(tree, src string) (map[string][]string, error) {
	objs, err := thinMembers(filepath.Join(tree, "vmlinux.a"))
	if err != nil {
		return nil, err
	}
	index, weak := map[string][]string{}, map[string][]string{}
	for _, obj := range objs {
		file := sourceOf(obj, src)
		fns, err := objectFunctions(filepath.Join(tree, obj))
		if err != nil {
			return nil, err
		}
		for _, fn := range fns {
			m := index
			if fn.weak {
				m = weak
			}
			if !slices.Contains(m[fn.name], file) {
				m[fn.name] = append(m[fn.name], file)
			}
		}
	}
	// A weak definition another object overrides is not what vmlinux runs.
	for fn, files := range weak {
		if _, ok := index[fn]; !ok {
			index[fn] = files
		}
	}
	return index, nil
}

// thinMembers lists a thin archive's members (paths relative to the
// archive's directory), descending into nested thin archives.
func thinMembers(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("index functions: %w", err)
	}
	const magic = "!<thin>\n"
	if !bytes.HasPrefix(raw, []byte(magic)) {
		return nil, fmt.Errorf("index functions: %s is not a thin archive", path)
	}
	names, err := thinNameTable(raw[len(magic):])
	if err != nil {
		return nil, fmt.Errorf("index functions: %s: %w", path, err)
	}
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, ".a") {
			nested, err := thinMembers(filepath.Join(filepath.Dir(path), n))
			if err != nil {
				return nil, err
			}
			for _, m := range nested {
				out = append(out, filepath.Join(filepath.Dir(n), m))
			}
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// thinNameTable returns the names in a thin archive's "//" member. In a
// thin archive only the symbol table and the name table carry data; every
// member's name is in the table, each ending in "/\n".
func thinNameTable(b []byte) ([]string, error) {
	const hdr = 60
	for len(b) >= hdr {
		name := strings.TrimSpace(string(b[:16]))
		var size int
		if _, err := fmt.Sscan(strings.TrimSpace(string(b[48:58])), &size); err != nil {
			return nil, fmt.Errorf("bad member header %q", b[:hdr])
		}
		body := b[hdr:]
		if name != "/" && name != "//" && name != "/SYM64/" {
			// A member of a thin archive: header only.
			b = body
			continue
		}
		if size > len(body) {
			return nil, errors.New("truncated member")
		}
		if name == "//" {
			var names []string
			for _, line := range strings.Split(string(body[:size]), "\n") {
				if n := strings.TrimSuffix(line, "/"); n != "" {
					names = append(names, n)
				}
			}
			return names, nil
		}
		b = body[size+size%2:]
	}
	return nil, errors.New("no name table")
}

// sourceOf names the source of object obj: obj's .c or .S in src, else obj.
func sourceOf(obj, src string) string {
	base := strings.TrimSuffix(obj, ".o")
	for _, ext := range []string{".c", ".S"} {
		if _, err := os.Stat(filepath.Join(src, base+ext)); err == nil {
			return base + ext
		}
	}
	return obj
}

type function struct {
	name string
	weak bool
}

// objectFunctions lists the functions an object file defines.
func objectFunctions(path string) ([]function, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index functions: %w", err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if errors.Is(err, elf.ErrNoSymbols) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("index functions: %s: %w", path, err)
	}
	var out []function
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF {
			out = append(out, function{s.Name, elf.ST_BIND(s.Info) == elf.STB_WEAK})
		}
	}
	return out, nil
}

// WriteFuncFiles writes index in the FuncFilesName format, sorted.
func WriteFuncFiles(w io.Writer, index map[string][]string) error {
	names := make([]string, 0, len(index))
	for n := range index {
		names = append(names, n)
	}
	sort.Strings(names)
	bw := bufio.NewWriter(w)
	for _, n := range names {
		fmt.Fprintf(bw, "%s\t%s\n", n, strings.Join(index[n], ","))
	}
	return bw.Flush()
}
