// Golden outputs from real Lucene for ExpandR Web's BM25 (src/retrieval/). Run through run.sh.
//
//   java LuceneReference IN_DIR OUT_DIR
//
// Reads IN_DIR/{analyze,corpus,queries}.txt (written by prepare-inputs.ts: records split by U+001E,
// fields by U+001F) and writes into OUT_DIR:
//   lucene-analyzer.json           EnglishAnalyzer tokens for each text (Anserini's default analyzer
//                                  is the same chain: StandardTokenizer, EnglishPossessiveFilter,
//                                  LowerCaseFilter, StopFilter(ENGLISH_STOP_WORDS_SET), PorterStemFilter)
//   lucene-scifact-index.json      collection statistics, every term with df and total tf, and each
//                                  doc's exact length and norm byte (SmallFloat.intToByte4)
//   lucene-bm25-scifact-test.json  top-100 hits with float scores for the 300 test queries, as
//                                  Anserini's BEIR flat BM25 runs: BM25Similarity(0.9f, 0.4f), one field
//                                  "contents" = title + " " + text, bag-of-words query (each unique
//                                  analyzed term a TermQuery boosted by its count, SHOULD)
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.BoostQuery;
import org.apache.lucene.search.CollectionStatistics;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.Version;

public class LuceneReference {
  static final String FIELD = "contents";
  static final float K1 = 0.9f; // Pyserini's BEIR defaults
  static final float B = 0.4f;
  static final int HITS = 1000; // searched, as Pyserini does
  static final int KEEP = 100; // written per query, to keep the fixture small

  public static void main(String[] args) throws Exception {
    Path in = Path.of(args[0]);
    Path out = Path.of(args[1]);
    Analyzer analyzer = new EnglishAnalyzer();
    String header = "\"lucene\": " + q(Version.LATEST.toString()) + ",\n";

    // (a) tokens
    StringBuilder sb = new StringBuilder("{\n").append(header);
    sb.append("\"analyzer\": \"org.apache.lucene.analysis.en.EnglishAnalyzer()\",\n\"cases\": [\n");
    List<String[]> texts = records(in.resolve("analyze.txt"));
    for (int i = 0; i < texts.size(); i++) {
      String[] r = texts.get(i);
      sb.append("{\"name\": ").append(q(r[0])).append(", \"text\": ").append(q(r[1]));
      sb.append(", \"tokens\": ").append(arr(analyze(analyzer, r[1]))).append('}');
      sb.append(i + 1 < texts.size() ? ",\n" : "\n");
    }
    sb.append("]}\n");
    write(out.resolve("lucene-analyzer.json"), sb);

    // (b) index: one segment so that doc ordinals follow corpus order
    List<String[]> corpus = records(in.resolve("corpus.txt"));
    ByteBuffersDirectory dir = new ByteBuffersDirectory();
    IndexWriterConfig cfg = new IndexWriterConfig(analyzer).setSimilarity(new BM25Similarity(K1, B));
    try (IndexWriter w = new IndexWriter(dir, cfg)) {
      for (String[] d : corpus) {
        Document doc = new Document();
        doc.add(new StringField("id", d[0], Field.Store.YES));
        doc.add(new TextField(FIELD, d[1], Field.Store.NO));
        w.addDocument(doc);
      }
      w.forceMerge(1);
    }
    DirectoryReader reader = DirectoryReader.open(dir);
    IndexSearcher searcher = new IndexSearcher(reader);
    searcher.setSimilarity(new BM25Similarity(K1, B));
    CollectionStatistics cs = searcher.collectionStatistics(FIELD);
    String stats = "\"stats\": {\"docCount\": " + cs.docCount() + ", \"sumTotalTermFreq\": "
        + cs.sumTotalTermFreq() + ", \"sumDocFreq\": " + cs.sumDocFreq() + "},\n";

    sb = new StringBuilder("{\n").append(header).append(stats);
    LeafReader leaf = reader.leaves().get(0).reader();
    StoredFields stored = leaf.storedFields();
    NumericDocValues norms = leaf.getNormValues(FIELD);
    List<String> ids = new ArrayList<>();
    List<String> lengths = new ArrayList<>();
    List<String> normBytes = new ArrayList<>();
    for (int d = 0; d < leaf.maxDoc(); d++) {
      ids.add(q(stored.document(d).get("id")));
      lengths.add(Integer.toString(analyze(analyzer, corpus.get(d)[1]).size()));
      normBytes.add(norms.advanceExact(d) ? Long.toString(norms.longValue() & 0xFF) : "0");
    }
    sb.append("\"docs\": {\"ids\": [").append(String.join(",", ids)).append("],\n");
    sb.append("\"lengths\": [").append(String.join(",", lengths)).append("],\n");
    sb.append("\"norms\": [").append(String.join(",", normBytes)).append("]},\n");
    sb.append("\"terms\": [\n");
    Terms terms = leaf.terms(FIELD);
    TermsEnum te = terms.iterator();
    boolean first = true;
    for (BytesRef t = te.next(); t != null; t = te.next()) {
      if (!first) sb.append(",\n");
      first = false;
      sb.append('[').append(q(t.utf8ToString())).append(',').append(te.docFreq());
      sb.append(',').append(te.totalTermFreq()).append(']');
    }
    sb.append("\n]}\n");
    write(out.resolve("lucene-scifact-index.json"), sb);

    // (c) the BM25 run
    sb = new StringBuilder("{\n").append(header).append(stats);
    sb.append("\"similarity\": \"BM25Similarity(k1=0.9f, b=0.4f)\",\n");
    sb.append("\"query\": \"Anserini BagOfWordsQueryGenerator: BoostQuery(TermQuery, count) SHOULD\",\n");
    sb.append("\"hits\": ").append(KEEP).append(",\n\"run\": {\n");
    List<String[]> queries = records(in.resolve("queries.txt"));
    for (int i = 0; i < queries.size(); i++) {
      String[] qr = queries.get(i);
      Map<String, Integer> counts = new HashMap<>();
      for (String t : analyze(analyzer, qr[1])) counts.merge(t, 1, Integer::sum);
      BooleanQuery.Builder bq = new BooleanQuery.Builder();
      for (Map.Entry<String, Integer> e : counts.entrySet()) {
        TermQuery tq = new TermQuery(new Term(FIELD, e.getKey()));
        bq.add(new BoostQuery(tq, (float) e.getValue()), BooleanClause.Occur.SHOULD);
      }
      TopDocs top = searcher.search(bq.build(), HITS);
      sb.append(q(qr[0])).append(": [");
      for (int r = 0; r < Math.min(KEEP, top.scoreDocs.length); r++) {
        ScoreDoc sd = top.scoreDocs[r];
        if (r > 0) sb.append(',');
        // Float.toString is the shortest decimal that reads back as the same float.
        sb.append('[').append(q(stored.document(sd.doc).get("id"))).append(',').append(sd.score).append(']');
      }
      sb.append(i + 1 < queries.size() ? "],\n" : "]\n");
    }
    sb.append("}}\n");
    write(out.resolve("lucene-bm25-scifact-test.json"), sb);
    reader.close();
  }

  static List<String> analyze(Analyzer a, String text) throws IOException {
    List<String> out = new ArrayList<>();
    try (TokenStream ts = a.tokenStream(FIELD, text)) {
      CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
      ts.reset();
      while (ts.incrementToken()) out.add(term.toString());
      ts.end();
    }
    return out;
  }

  static List<String[]> records(Path p) throws IOException {
    List<String[]> out = new ArrayList<>();
    for (String r : Files.readString(p, StandardCharsets.UTF_8).split("\u001e", -1)) {
      out.add(r.split("\u001f", -1));
    }
    return out;
  }

  static void write(Path p, CharSequence s) throws IOException {
    try (Writer w = Files.newBufferedWriter(p, StandardCharsets.UTF_8)) {
      w.append(s);
    }
  }

  static String arr(List<String> xs) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < xs.size(); i++) sb.append(i > 0 ? "," : "").append(q(xs.get(i)));
    return sb.append(']').toString();
  }

  // JSON string; escapes controls, quotes, U+2028/9 and unpaired surrogates.
  static String q(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean paired =
          (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)))
              || (Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
      if (c == '"' || c == '\\') sb.append('\\').append(c);
      else if (c < 0x20 || c == 0x2028 || c == 0x2029 || (Character.isSurrogate(c) && !paired)) {
        sb.append(String.format("\\u%04x", (int) c));
      } else sb.append(c);
    }
    return sb.append('"').toString();
  }
}
