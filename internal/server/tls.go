package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"kinesisd/internal/config"
)

// tlsSetup is the certificate the TLS port serves, and where it came from.
type tlsSetup struct {
	config   *tls.Config
	certFile string // the PEM a client can trust (generated certificates are self-signed)
	tempDir  string // with -in-memory, the temporary directory of the generated certificate; removed at Close
}

// loadTLS returns the TLS configuration cfg asks for, or nil when it asks for none: the files of
// -tls-cert/-tls-key, or with -tls (or -tls-listen) alone a self-signed certificate for localhost and
// 127.0.0.1, generated once into the data directory (a temporary one with -in-memory) and reused.
func loadTLS(cfg *config.Config) (*tlsSetup, error) {
	if !cfg.TLS && cfg.TLSCert == "" && cfg.TLSListen == "" {
		return nil, nil
	}
	certFile, keyFile := cfg.TLSCert, cfg.TLSKey
	tempDir := ""
	if certFile == "" {
		dir := filepath.Join(cfg.DataDir, "tls")
		if cfg.InMemory {
			tmp, err := os.MkdirTemp("", "kinesisd-tls-")
			if err != nil {
				return nil, fmt.Errorf("-tls: %w", err)
			}
			dir, tempDir = tmp, tmp
		}
		certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := ensureSelfSigned(dir, certFile, keyFile); err != nil {
			removeTemp(tempDir)
			return nil, fmt.Errorf("-tls: %w", err)
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		removeTemp(tempDir)
		return nil, fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	return &tlsSetup{
		config:   &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		certFile: certFile,
		tempDir:  tempDir,
	}, nil
}

// removeTemp removes a temporary certificate directory; "" is none.
func removeTemp(dir string) {
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// ensureSelfSigned writes a self-signed certificate and key into dir unless both files exist.
func ensureSelfSigned(dir, certFile, keyFile string) error {
	_, certErr := os.Stat(certFile)
	_, keyErr := os.Stat(keyFile)
	if certErr == nil && keyErr == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "kinesisd", Organization: []string{"kinesisd self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // it is its own CA, so that clients can trust the file as a CA bundle
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return errors.Join(
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600),
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644),
	)
}
