// BouncyCastle 1.72's RFC 4998 implementation (org.bouncycastle.tsp.ers) as
// the outside side of tests/ers.rs, launched as a single-file program:
//   java -cp $BC Ers.java build TSA_URL OUT_DIR FILE...   one record per file (OUT_DIR/NAME.ers)
//   java -cp $BC Ers.java verify RECORD FILE TSA_CERT.pem  prints OK, or the exception and exits 1
// The TSA is asked over HTTP (RFC 3161 over HTTP, application/timestamp-query).

import java.io.*;
import java.net.*;
import java.nio.file.*;
import java.security.cert.*;
import java.util.*;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.operator.*;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.tsp.*;
import org.bouncycastle.tsp.ers.*;

public class Ers {
    static byte[] post(String url, byte[] body) throws Exception {
        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
        c.setConnectTimeout(5000);
        c.setReadTimeout(10000);
        c.setDoOutput(true);
        c.setRequestMethod("POST");
        c.setRequestProperty("Content-Type", "application/timestamp-query");
        try (OutputStream o = c.getOutputStream()) { o.write(body); }
        try (InputStream i = c.getInputStream()) { return i.readAllBytes(); }
    }

    public static void main(String[] a) throws Exception {
        DigestCalculatorProvider dcp = new JcaDigestCalculatorProviderBuilder().build();
        DigestCalculator sha256 = dcp.get(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256));
        if (a[0].equals("build")) {
            List<String> files = Arrays.asList(a).subList(3, a.length);
            ERSArchiveTimeStampGenerator g = new ERSArchiveTimeStampGenerator(sha256);
            for (String f : files) g.addData(new ERSByteData(Files.readAllBytes(Paths.get(f))));
            TimeStampRequestGenerator rg = new TimeStampRequestGenerator();
            rg.setCertReq(true);
            TimeStampRequest req = g.generateTimeStampRequest(rg);
            TimeStampResponse resp = new TimeStampResponse(post(a[1], req.getEncoded()));
            resp.validate(req);
            List<ERSArchiveTimeStamp> ats = g.generateArchiveTimeStamps(resp);
            List<ERSEvidenceRecord> ers = new ERSEvidenceRecordGenerator(dcp).generate(ats);
            // Records come back in hash order: match each with its file.
            for (String f : files) {
                ERSByteData d = new ERSByteData(Files.readAllBytes(Paths.get(f)));
                boolean found = false;
                for (ERSEvidenceRecord er : ers) {
                    if (er.isContaining(d, new Date())) {
                        Path out = Paths.get(a[2], Paths.get(f).getFileName() + ".ers");
                        Files.write(out, er.getEncoded());
                        found = true;
                        break;
                    }
                }
                if (!found) throw new IllegalStateException("no record for " + f);
            }
            System.out.println("built " + files.size());
        } else if (a[0].equals("verify")) {
            ERSEvidenceRecord er = new ERSEvidenceRecord(Files.readAllBytes(Paths.get(a[1])), dcp);
            X509Certificate tsa = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new FileInputStream(a[3]));
            try {
                er.validatePresent(new ERSByteData(Files.readAllBytes(Paths.get(a[2]))), new Date());
                er.validate(new JcaSimpleSignerInfoVerifierBuilder().build(tsa));
                System.out.println("OK");
            } catch (Exception e) {
                System.out.println("FAILED " + e);
                System.exit(1);
            }
        } else {
            throw new IllegalArgumentException("build | verify");
        }
    }
}
