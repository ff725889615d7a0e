package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.ConfigException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line as picocli parses it: one table of options for parsing, help and completion;
 * recorded command lines (config.json's "args") parse as before; the bash completion script.
 */
class CliCommandLineTest {
    @TempDir
    Path tmp;

    @Test
    void helpListsEveryOptionOfItsTableWithItsDefault() {
        Cli.Result train = Cli.run("train", "--help").expect(Main.OK);
        assertTrue(train.out().startsWith("usage: hybridsam train"), train.out());
        for (Options.Def d : RunSetup.OPTIONS) assertTrue(train.out().contains(d.name()), () -> "train --help lacks " + d.name());
        for (String shown : List.of("(default: pendulum 320, duffing 480", "(default 64,64; reaction-diffusion and light-tunnel", "(default fsam)", "--resume DIR", "Exit status:")) {
            assertTrue(train.out().contains(shown), () -> "train --help lacks " + shown + ":\n" + train.out());
        }
        Cli.Result generate = Cli.run("generate", "-h").expect(Main.OK);
        for (Options.Def d : Main.GENERATE) assertTrue(generate.out().contains(d.name()), generate.out());
        Cli.Result evaluate = Cli.run("evaluate", "--help").expect(Main.OK);
        for (Options.Def d : Main.EVALUATE) assertTrue(evaluate.out().contains(d.name()), evaluate.out());
        Cli.Result sweep = Cli.run("sweep", "--help").expect(Main.OK);
        for (Options.Def d : Sweep.OPTIONS) assertTrue(sweep.out().contains(d.name()), () -> "sweep --help lacks " + d.name());
        // `help COMMAND` is the same text; the overview lists every command
        assertEquals(train.out(), Cli.run("help", "train").expect(Main.OK).out());
        Cli.Result main = Cli.run("help").expect(Main.OK);
        for (String c : Main.COMMANDS) assertTrue(main.out().contains(c), main.out());
        Cli.run("help", "fly").expect(Main.BAD_INPUT);
    }

    @Test
    void refusalsNameTheOptionAndTheCommand() {
        Cli.Result unknown = Cli.run("generate", "--sed", "1").expect(Main.BAD_INPUT);
        assertTrue(unknown.err().startsWith("hybridsam generate: ") && unknown.err().contains("'--sed'"), unknown.err());
        Cli.Result type = Cli.run("evaluate", "--run", tmp.toString(), "--replica", "first").expect(Main.BAD_INPUT);
        assertTrue(type.err().contains("--replica") && type.err().contains("'first' is not a whole number"), type.err());
        Cli.Result choice = Cli.run("generate", "--preset", "huge").expect(Main.BAD_INPUT);
        assertTrue(choice.err().contains("--preset") && choice.err().contains("full, small"), choice.err());
        Cli.Result flag = Cli.run("evaluate", "--run", tmp.toString(), "--json=yes").expect(Main.BAD_INPUT);
        assertTrue(flag.err().contains("--json"), flag.err());
        Cli.Result none = Cli.run("completion", "bash").expect(Main.BAD_INPUT);
        assertTrue(none.err().contains("'bash'"), none.err());
        assertEquals("", unknown.out() + type.out() + choice.out() + flag.out() + none.out());
        assertFalse(Files.exists(tmp.resolve("checkpoint.bin")));
    }

    /** config.json's "args" as earlier runs recorded them (--name value, --name=value, lists, flags) parse as before. */
    @Test
    void recordedArgsParseAsBefore() {
        List<String> recorded = List.of("--preset", "small", "--threads", "2", "--quiet", "--cache=/tmp/c", "--out", "/tmp/o",
                "--task=duffing", "--rho", "0.02,0.05", "--seed", "3", "--hidden", "16,16", "--quiet");
        Options o = Options.parse("train", RunSetup.OPTIONS, recorded);
        assertEquals(recorded, o.args());
        assertEquals("duffing", o.string("--task", null));
        assertEquals("/tmp/c", o.string("--cache", null));
        assertEquals("0.02,0.05", o.string("--rho", null));
        assertEquals(2, o.intValue("--threads", 0));
        assertTrue(o.flag("--quiet"));
        RunSetup setup = RunSetup.of(recorded);
        assertEquals(2, setup.replicas);
        assertEquals(List.of("--rho"), setup.varied);
        assertEquals(3, setup.seeds[0]);
        assertEquals(3, setup.seeds[1]);
        // what the old parser refused, this one refuses (as a ConfigException, which argsOf names with the file)
        for (List<String> bad : List.of(List.of("--epochs"), List.of("--epochs", "1", "--epochs", "2"), List.of("duffing"),
                List.of("--rho", "0.1", "--rho", "0.2"), List.of("--no-such", "1"), List.of("--resume", "x"), List.of("--help"))) {
            assertThrows(ConfigException.class, () -> Options.parse("train", RunSetup.OPTIONS, bad), bad::toString);
        }
    }

    @Test
    void resumeReplacesTheRecordedDeviceInEitherForm() {
        List<String> recorded = List.of("--task", "duffing", "--device=cuda", "--threads", "4");
        assertEquals(List.of("--task", "duffing", "--device", "cpu", "--threads", "2"),
                Main.resumedArgs(recorded, List.of("--device", "cpu", "--threads", "2")));
        ConfigException e = assertThrows(ConfigException.class, () -> Main.resumedArgs(recorded, List.of("--epochs", "5")));
        assertTrue(e.getMessage().contains("--resume") && e.getMessage().contains("--epochs"), e.getMessage());
        // through the command line: the override's form does not matter, anything else is refused before the run is read
        Cli.Result r = Cli.run("train", "--device=cpu", "--resume", tmp.resolve("none").toString()).expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("config.json"), r.err());
        Cli.Result q = Cli.run("train", "--resume", tmp.toString(), "--quiet").expect(Main.BAD_INPUT);
        assertTrue(q.err().contains("--resume"), q.err());
    }

    @Test
    void completionScriptCoversCommandsOptionsAndValues() throws IOException, InterruptedException {
        Cli.Result c = Cli.run("completion").expect(Main.OK);
        String script = c.out();
        assertTrue(script.startsWith("#!/usr/bin/env bash") && script.contains("complete -F _complete_hybridsam"), script);
        for (String cmd : Main.COMMANDS) assertTrue(script.contains(cmd), cmd);
        for (Options.Def d : RunSetup.OPTIONS) assertTrue(script.contains(d.name()), d.name());
        Path bash = Path.of("/bin/bash");
        Assumptions.assumeTrue(Files.isExecutable(bash), "no bash here to run the script");
        Path file = Files.writeString(tmp.resolve("hybridsam-completion.bash"), script);
        assertEquals("kernels cublas cudnn auto", complete(bash, file, "hybridsam", "train", "--nn-engine", ""));
        assertEquals("train", complete(bash, file, "hybridsam", "tr"));
        assertEquals("--lr-theta --lr-nn --lr-schedule", complete(bash, file, "hybridsam", "train", "--lr"));
        // every option with values to choose from completes its own (picocli keeps them in a variable named
        // after the option's label, so two options with one label would offer the same values)
        for (var command : List.of(List.of("train", RunSetup.OPTIONS), List.of("sweep", Sweep.OPTIONS), List.of("generate", Main.GENERATE),
                List.of("evaluate", Main.EVALUATE))) {
            @SuppressWarnings("unchecked") List<Options.Def> defs = (List<Options.Def>) command.get(1);
            for (Options.Def d : defs) {
                if (d.candidates().isEmpty()) continue;
                assertEquals(String.join(" ", d.candidates()), complete(bash, file, "hybridsam", (String) command.get(0), d.name(), ""),
                        command.get(0) + " " + d.name());
            }
        }
        assertEquals("test valid train", complete(bash, file, "hybridsam", "evaluate", "--split", ""));
    }

    /** What the script offers for the last word (bash's COMPREPLY, space-separated). */
    static String complete(Path bash, Path script, String... words) throws IOException, InterruptedException {
        StringBuilder arr = new StringBuilder();
        for (String w : words) arr.append(" '").append(w).append("'");
        String line = String.join(" ", words);
        String cmd = "source '" + script + "' 2>/dev/null; COMP_WORDS=(" + arr + "); COMP_CWORD=" + (words.length - 1)
                + "; COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}; _complete_hybridsam 2>/dev/null; echo \"${COMPREPLY[*]}\"";
        Process p = new ProcessBuilder(bash.toString(), "--norc", "--noprofile", "-c", cmd).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
