package dev.stride.core;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SequencedSet;

/**
 * An owner of native resources. Everything created in a scope is closed, newest first, when the scope closes.
 *
 * <p>A {@linkplain #leakChecked(String) leak-checked} scope also checks, when it closes, that every native
 * resource created anywhere in the process while it was open has been freed, and otherwise throws an
 * {@link IllegalStateException} listing each leaked resource with its size and where it was created (the way
 * Arrow's allocator reports "Memory was leaked"). Tests run inside one, so a leak fails the test that caused
 * it, even when it happens in a temporary scope inside the library.
 *
 * <p>The scope also counts what it allocates, so a test can prove that a training step allocates nothing.
 *
 * <p>Thread-safe. When a resource refuses to close because a call on another thread is using it (see
 * {@link NativeResource#close()}), the scope closes everything else, stays open with just the resources in use
 * and throws an {@link IllegalStateException}; closing it again later finishes the job.
 */
public final class Scope implements AutoCloseable {

    private final String name;
    private final boolean leakChecked;
    private final long openedAt;
    private final Scope parent;
    private final SequencedSet<Resource> live = new LinkedHashSet<>();
    /** For a resource's private scope: the resource; its contents are reported as leaks only through it. */
    private volatile Resource owner;
    private long registrations;
    private long bytesRegistered;
    private boolean closed;

    private Scope(String name, boolean leakChecked, Scope parent) {
        this.name = name;
        this.leakChecked = leakChecked;
        this.parent = parent;
        this.openedAt = NativeResource.currentSequence();
        if (leakChecked) {
            NativeResource.TRACING.incrementAndGet();
        }
    }

    /** A scope that frees whatever is left in it when closed. */
    public static Scope open(String name) {
        return new Scope(name, false, null);
    }

    /** A scope that frees what it owns when closed and then reports every native resource leaked meanwhile. */
    public static Scope leakChecked(String name) {
        return new Scope(name, true, null);
    }

    /** Marks this scope as the private part of {@code resource} (a tensor's descriptor, a primitive's parts). */
    void ownedBy(Resource resource) {
        this.owner = resource;
    }

    /** A nested scope, closed with this one at the latest. */
    public Scope child(String childName) {
        Scope child = new Scope(name + "/" + childName, false, this);
        register(new ChildHandle(child));
        return child;
    }

    public String name() {
        return name;
    }

    public boolean leakChecked() {
        return leakChecked;
    }

    /** How many resources were ever created in this scope (a nested scope counts as one). */
    public synchronized long allocations() {
        return registrations;
    }

    /** Native bytes ever registered in this scope. */
    public synchronized long bytesAllocated() {
        return bytesRegistered;
    }

    /** Native bytes held right now by resources of this scope (nested scopes included). */
    public synchronized long liveBytes() {
        long sum = 0;
        for (Resource r : live) {
            sum += r.nativeBytes();
        }
        return sum;
    }

    /** Number of resources of this scope still open. */
    public synchronized int liveCount() {
        return live.size();
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    synchronized void register(Resource r) {
        if (closed) {
            throw new IllegalStateException("scope '" + name + "' is closed: cannot create " + r.describe());
        }
        live.add(r);
        registrations++;
        bytesRegistered += r.nativeBytes();
    }

    synchronized void unregister(Resource r) {
        live.remove(r);
    }

    @Override
    public void close() {
        List<Resource> left;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            left = new ArrayList<>(live).reversed();
        }
        RuntimeException failure = null;
        for (Resource r : left) {
            try {
                r.close();
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        List<Resource> inUse = left.stream().filter(r -> !r.isClosed()).toList();
        if (!inUse.isEmpty()) {
            // A resource that refused to close (in use on another thread) stays open and owned: the scope stays
            // open with just those, so nothing is freed under a running call and nothing is lost.
            synchronized (this) {
                live.retainAll(inUse);
                closed = false;
            }
            IllegalStateException e = new IllegalStateException("scope '" + name + "' was not closed: "
                    + inUse.size() + " resource(s) in use stay open and usable (" + inUse.getFirst().describe()
                    + (inUse.size() > 1 ? ", ..." : "") + "); everything else was freed. Close the scope again once"
                    + " they are free" + (failure != null ? ": " + failure.getMessage() : ""), failure);
            throw e;
        }
        synchronized (this) {
            live.clear();
        }
        if (parent != null) {
            parent.unregisterChild(this);
        }
        if (leakChecked) {
            NativeResource.TRACING.decrementAndGet();
            // A private part is reported through its owner, unless the owner was closed without freeing it.
            List<NativeResource> leaked = NativeResource.liveSince(openedAt).stream()
                    .filter(r -> r.scope().owner == null || r.scope().owner.isClosed()).toList();
            if (!leaked.isEmpty()) {
                long bytes = 0;
                List<String> lines = new ArrayList<>();
                for (NativeResource r : leaked) {
                    bytes += r.nativeBytes();
                    lines.add(r.describe() + " (" + r.nativeBytes() + " bytes, owner scope '" + r.scope().name() + "')"
                            + r.origin());
                }
                IllegalStateException e = new IllegalStateException("Memory was leaked while scope '" + name
                        + "' was open: " + leaked.size() + " native resource(s), " + bytes + " bytes, still open:\n  - "
                        + String.join("\n  - ", lines));
                if (failure != null) {
                    e.addSuppressed(failure);
                }
                throw e;
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private synchronized void unregisterChild(Scope child) {
        live.removeIf(r -> r instanceof ChildHandle ch && ch.child == child);
    }

    @Override
    public String toString() {
        return "Scope[" + name + (leakChecked ? ", leak-checked" : "") + (closed ? ", closed" : "") + "]";
    }

    /** Lets a nested scope sit in its parent's list so that closing the parent closes it. */
    private record ChildHandle(Scope child) implements Resource {
        @Override
        public String describe() {
            return "scope '" + child.name + "'";
        }

        @Override
        public long nativeBytes() {
            return child.liveBytes();
        }

        @Override
        public boolean isClosed() {
            return child.isClosed();
        }

        @Override
        public void close() {
            child.close();
        }
    }
}
