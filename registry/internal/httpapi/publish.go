package httpapi

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/sdk/release"
)

// PublishForm is a decoded release upload: the text fields and the small
// files in memory, the archives written to a directory.
type PublishForm struct {
	Version   string
	KeyID     string
	Sums      []byte
	Signature []byte
	Archives  map[string]UploadedArchive // by file name
}

// UploadedArchive is one archive part as written to disk.
type UploadedArchive struct {
	Name, Version string
	Platform      release.Platform
	SHA256        string
	Size          int64
}

// maxTextField bounds the version and key_id fields.
const maxTextField = 256

// ReadPublishForm decodes a release upload, streaming each archive part
// into dir under its (validated) file name. It checks the shape of the
// form, not its meaning: see PublishForm.Check.
func ReadPublishForm(mr *multipart.Reader, dir string) (PublishForm, error) {
	f := PublishForm{Archives: map[string]UploadedArchive{}}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return f, fmt.Errorf("reading upload: %w", err)
		}
		field := part.FormName()
		if field != "archive" && seen[field] {
			return f, fmt.Errorf("form field %q appears twice", field)
		}
		seen[field] = true
		switch field {
		case "version":
			f.Version, err = readText(part, field, maxTextField)
		case "key_id":
			f.KeyID, err = readText(part, field, maxTextField)
		case release.SumsFile:
			f.Sums, err = readSmall(part, field, release.MaxSumsSize)
		case release.SignatureFile:
			f.Signature, err = readSmall(part, field, ed25519.SignatureSize)
		case "archive":
			err = f.readArchive(part, dir)
		default:
			err = fmt.Errorf("unknown form field %q: want version, key_id, %s, %s and archive parts", field, release.SumsFile, release.SignatureFile)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

func readSmall(r io.Reader, field string, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", field, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", field, max)
	}
	return b, nil
}

func readText(r io.Reader, field string, max int64) (string, error) {
	b, err := readSmall(r, field, max)
	return string(bytes.TrimSpace(b)), err
}

func (f *PublishForm) readArchive(part *multipart.Part, dir string) error {
	file := part.FileName()
	if file == "" {
		return errors.New("an archive part has no file name: want vigil-plugin-<name>_<version>_<os>_<arch>.tar.gz")
	}
	name, version, p, err := release.ParseArchiveName(file)
	if err != nil {
		return err
	}
	if _, dup := f.Archives[file]; dup {
		return fmt.Errorf("archive %s is uploaded twice", file)
	}
	out, err := os.OpenFile(filepath.Join(dir, file), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("storing %s: %w", file, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), part)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("storing %s: %w", file, cerr)
	}
	if err != nil {
		return fmt.Errorf("receiving %s: %w", file, err)
	}
	f.Archives[file] = UploadedArchive{Name: name, Version: version, Platform: p, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	return nil
}

// Check verifies the form for plugin, signed by pub: the version, each
// archive's name, the signature over SHA256SUMS, and that SHA256SUMS lists
// exactly the uploaded archives with their hashes. It returns every
// problem it finds.
func (f PublishForm) Check(plugin string, pub release.PublicKey) []string {
	var probs []string
	if err := release.ValidVersion(f.Version); err != nil {
		probs = append(probs, "version field: "+err.Error())
	}
	if len(f.Archives) == 0 {
		probs = append(probs, "no archive parts: upload one per os/arch")
	}
	for _, file := range sortedKeys(f.Archives) {
		a := f.Archives[file]
		if a.Name != plugin {
			probs = append(probs, fmt.Sprintf("archive %s is for plugin %q, not %q", file, a.Name, plugin))
		}
		if a.Version != f.Version {
			probs = append(probs, fmt.Sprintf("archive %s is for version %s, but the version field says %s", file, a.Version, f.Version))
		}
	}
	if f.Sums == nil || f.Signature == nil {
		return append(probs, fmt.Sprintf("%s and %s are both required", release.SumsFile, release.SignatureFile))
	}
	if err := release.Verify(pub, f.Sums, f.Signature); err != nil {
		return append(probs, err.Error()+": sign SHA256SUMS with the key named by key_id")
	}
	sums, err := release.ParseSums(f.Sums)
	if err != nil {
		return append(probs, err.Error())
	}
	for _, file := range sortedKeys(f.Archives) {
		want, ok := sums.Lookup(file)
		switch {
		case !ok:
			probs = append(probs, fmt.Sprintf("archive %s is not listed in %s", file, release.SumsFile))
		case want != f.Archives[file].SHA256:
			probs = append(probs, fmt.Sprintf("archive %s has sha256 %s, but %s says %s", file, f.Archives[file].SHA256, release.SumsFile, want))
		}
	}
	for _, s := range sums {
		if _, ok := f.Archives[s.File]; !ok {
			probs = append(probs, fmt.Sprintf("%s lists %s, which was not uploaded", release.SumsFile, s.File))
		}
	}
	return probs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// PublishResponse is the 202 answer to a publish.
type PublishResponse struct {
	Plugin    string      `json:"plugin"`
	Version   string      `json:"version"`
	State     store.State `json:"state"`
	StatusURL string      `json:"status_url"`
}

func (a *API) publish(w http.ResponseWriter, r *http.Request, who store.Credential) error {
	name := r.PathValue("name")
	plugin, err := a.plugin(r.Context(), name)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.maxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		return errorf(http.StatusBadRequest, "want a multipart/form-data upload: %v", err)
	}
	uploads := filepath.Join(a.artifacts, ".uploads")
	if err := os.MkdirAll(uploads, 0o755); err != nil {
		return fmt.Errorf("preparing upload directory: %w", err)
	}
	tmp, err := os.MkdirTemp(uploads, name+"-")
	if err != nil {
		return fmt.Errorf("preparing upload directory: %w", err)
	}
	defer os.RemoveAll(tmp) // gone already once moved into place
	form, err := ReadPublishForm(mr, tmp)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	if form.KeyID == "" {
		return errorf(http.StatusBadRequest, "key_id is required: the id of the publisher key that signed %s", release.SumsFile)
	}
	pub, err := a.signingKey(r, name, form.KeyID)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return errorf(http.StatusBadRequest, "%v; the publisher registers it with: vigil plugin key add <publisher> --key <private key file>", err)
		}
		return err
	}
	if probs := form.Check(name, pub); len(probs) > 0 {
		return &apiError{Status: http.StatusBadRequest, Message: fmt.Sprintf("release %s %s refused: %s", name, form.Version, probs[0]), Details: probs}
	}
	for file, b := range map[string][]byte{release.SumsFile: form.Sums, release.SignatureFile: form.Signature} {
		if err := os.WriteFile(filepath.Join(tmp, file), b, 0o644); err != nil {
			return fmt.Errorf("storing %s: %w", file, err)
		}
	}
	nr := store.NewRelease{Plugin: name, Version: form.Version, Manifest: json.RawMessage("null"), Actor: actor(who),
		Signature: &store.Signature{SHA256Sums: form.Sums, Signature: form.Signature, KeyID: form.KeyID}}
	for _, file := range sortedKeys(form.Archives) {
		up := form.Archives[file]
		nr.Artifacts = append(nr.Artifacts, store.Artifact{OS: up.Platform.OS, Arch: up.Platform.Arch, Path: path.Join(name, form.Version, file), SHA256: up.SHA256, Size: up.Size})
	}
	if err := a.storeRelease(r, tmp, nr); err != nil {
		return err
	}
	a.log.Info("release published", "plugin", name, "version", form.Version, "owner", plugin.Owner, "platforms", len(nr.Artifacts))
	a.queue.Enqueue(name, form.Version)
	writeJSON(w, http.StatusAccepted, PublishResponse{Plugin: name, Version: form.Version, State: store.Pending,
		StatusURL: "/v1/plugins/" + name + "/releases/" + form.Version})
	return nil
}

// storeRelease moves the upload into <artifacts>/<plugin>/<version> and records
// the release; one publish at a time, so two uploads of one version
// cannot trample each other's files.
func (a *API) storeRelease(r *http.Request, tmp string, nr store.NewRelease) error {
	a.publishMu.Lock()
	defer a.publishMu.Unlock()
	if _, err := a.st.Release(r.Context(), nr.Plugin, nr.Version); err == nil {
		return errorf(http.StatusConflict, "%s %s is already published; publish a new version", nr.Plugin, nr.Version)
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("checking for release: %w", err)
	}
	dest := filepath.Join(a.artifacts, nr.Plugin, nr.Version)
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("storing release: %w", err)
	}
	if err := os.RemoveAll(dest); err != nil { // left by a crash between move and record
		return fmt.Errorf("storing release: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("storing release: %w", err)
	}
	if _, err := a.st.CreateRelease(r.Context(), nr); err != nil {
		_ = os.RemoveAll(dest) // best effort: a leftover is removed by the next publish of this version
		if errors.Is(err, store.ErrConflict) {
			return errorf(http.StatusConflict, "%s %s is already published; publish a new version", nr.Plugin, nr.Version)
		}
		return fmt.Errorf("recording release: %w", err)
	}
	return nil
}
