package hybridsam.tasks.data;

import hybridsam.io.DataException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The lines of a text file with a limit on each line's length: a file without line breaks (or
 * with one huge line) is refused after the limit, never read whole into one string first.
 * Line ends are \n or \r\n, as BufferedReader's readLine takes them.
 */
final class BoundedLines implements AutoCloseable {
    private final BufferedReader reader;
    private final Path file;
    private final int max;
    private int lineNo;

    BoundedLines(Path file, int max) throws IOException {
        this.reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
        this.file = file;
        this.max = max;
    }

    /**
     * The next line without its end, or null after the last; a line longer than the limit is a
     * {@link DataException} naming the file and the 1-based line.
     */
    String next() throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        boolean any = false;
        while ((c = reader.read()) != -1) {
            any = true;
            if (c == '\n') break;
            if (line.length() >= max) {
                throw new DataException(file + ": line " + (lineNo + 1) + ": longer than " + max + " characters; not a"
                        + " chambers CSV file");
            }
            line.append((char) c);
        }
        if (!any) return null;
        lineNo++;
        int n = line.length();
        if (n > 0 && line.charAt(n - 1) == '\r') line.setLength(n - 1);
        return line.toString();
    }

    /** The 1-based number of the line {@link #next} returned last. */
    int lineNo() {
        return lineNo;
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
