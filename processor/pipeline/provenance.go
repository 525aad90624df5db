package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Provenance markers: one empty-named object per processed input,
// <provenance>/<input key>@<version token>, written after its output. The
// token is the input version the output was made from, so a listing of the
// provenance folder tells done (the token matches the input's current
// version) from stale (it does not, or there is no marker) without reading
// every output's metadata: a reconcile over tens of thousands of files
// costs listings, not a request per file.

// ProvenanceKey is the marker of inputKey's output made from version.
func (p *Pipeline) ProvenanceKey(inputKey, version string) string {
	return p.MarkerPrefix(inputKey) + VersionToken(version)
}

// MarkerPrefix starts the key of every marker of inputKey.
func (p *Pipeline) MarkerPrefix(inputKey string) string {
	return p.ProvenancePrefix + "/" + inputKey + "@"
}

// ParseProvenanceKey splits a marker key into its input key and token.
func (p *Pipeline) ParseProvenanceKey(key string) (inputKey, token string, ok bool) {
	rest, ok := strings.CutPrefix(key, p.ProvenancePrefix+"/")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '@')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// VersionToken turns a store version (a quoted ETag, size-mtime on a disk)
// into a key segment: the version itself when it is made of letters,
// digits, '.', '_' and '-', else a digest of it.
func VersionToken(version string) string {
	v := strings.Trim(version, `"`)
	if v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) < 0 {
		return v
	}
	sum := sha256.Sum256([]byte(version))
	return "sha256-" + hex.EncodeToString(sum[:16])
}
