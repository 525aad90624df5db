package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// MaxMetadataSize is S3's limit on user metadata: the bytes of every key
// and value together.
const MaxMetadataSize = 2048

// Check reports why m cannot be stored and read back unchanged by every
// backend, or nil. The rules are S3's, narrowed to what survives HTTP
// headers and extended attributes alike: keys of lowercase letters, digits
// and '-' (S3 lowercases keys), values of printable ASCII with no space at
// either end (HTTP trims it) and not empty, MaxMetadataSize bytes in all.
func (m Metadata) Check() error {
	total := 0
	for _, k := range m.keys() {
		v := m[k]
		total += len(k) + len(v)
		if err := checkKey(k); err != nil {
			return fmt.Errorf("metadata key %q: %w", k, err)
		}
		if err := checkValue(v); err != nil {
			return fmt.Errorf("metadata %s=%q: %w", k, v, err)
		}
	}
	if total > MaxMetadataSize {
		return fmt.Errorf("metadata of %d bytes: more than S3's %d", total, MaxMetadataSize)
	}
	return nil
}

// keys are m's keys in order, so that the first problem reported is always
// the same one.
func (m Metadata) keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func checkKey(k string) error {
	if k == "" {
		return errors.New("empty")
	}
	for _, c := range []byte(k) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("byte %q: only a-z, 0-9 and '-' are kept by every store", c)
		}
	}
	return nil
}

func checkValue(v string) error {
	if v == "" {
		return errors.New("empty value (leave the key out)")
	}
	if strings.TrimSpace(v) != v {
		return errors.New("space at either end would be trimmed by HTTP")
	}
	for _, c := range []byte(v) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("byte %#x: values are printable ASCII", c)
		}
	}
	return nil
}
