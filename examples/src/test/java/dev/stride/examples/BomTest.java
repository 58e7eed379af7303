package dev.stride.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * stride-bom lists every published module of the reactor (a jar module without {@code maven.deploy.skip}) at
 * the reactor's version, and nothing else. It lives here because this module already reads the repository's files.
 */
class BomTest {

    private static final Path ROOT = Path.of(System.getProperty("stride.repo.root", ".."));

    @Test
    void bomListsEveryPublishedModule() throws Exception {
        Element parent = read(ROOT.resolve("pom.xml"));
        Set<String> published = new TreeSet<>();
        for (Element module : children(child(parent, "modules"), "module")) {
            Element pom = read(ROOT.resolve(module.getTextContent().strip()).resolve("pom.xml"));
            Element props = child(pom, "properties");
            boolean skipped = props != null && child(props, "maven.deploy.skip") != null
                    && text(props, "maven.deploy.skip").equals("true");
            boolean jar = child(pom, "packaging") == null || text(pom, "packaging").equals("jar");
            if (jar && !skipped) {
                published.add(text(pom, "artifactId"));
            }
        }
        Element bom = read(ROOT.resolve("bom/pom.xml"));
        assertEquals(text(parent, "version"), text(bom, "version"), "bom version");
        Set<String> listed = new TreeSet<>();
        for (Element dep : children(child(child(bom, "dependencyManagement"), "dependencies"), "dependency")) {
            assertEquals("dev.stride", text(dep, "groupId"));
            assertEquals("${project.version}", text(dep, "version"), text(dep, "artifactId"));
            listed.add(text(dep, "artifactId"));
        }
        assertEquals(published, listed, "bom/pom.xml against the modules published");
    }

    private static Element read(Path file) throws Exception {
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
        return doc.getDocumentElement();
    }

    private static List<Element> children(Element e, String name) {
        List<Element> found = new ArrayList<>();
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c && c.getTagName().equals(name)) {
                found.add(c);
            }
        }
        return found;
    }

    private static Element child(Element e, String name) {
        List<Element> found = children(e, name);
        return found.isEmpty() ? null : found.getFirst();
    }

    private static String text(Element e, String name) {
        return child(e, name).getTextContent().strip();
    }
}
