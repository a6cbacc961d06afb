/* The compiled node store of autograd_core (optional; engine.py works without it).
 *
 * It changes how a node is stored and how the hot loops run, never what is computed:
 *
 *   - a node keeps its grad and each edge's local derivative as C doubles, its parents
 *     inline and its value as the forward's own float (no tuples, no float per grad
 *     or derivative), and it is kept out of the cyclic garbage collector's walks
 *     (see track_reachable);
 *   - its fast paths are RuleOp objects, made by engine.py from the rule table when
 *     it binds a rule, that call the rule's own forward and local functions: this
 *     file knows no op, no op name and no derivative (rules.py is the one place);
 *   - backward() runs the same traversal and the same additions, in the same order,
 *     as the pure-Python engine, so both give bit-for-bit the same gradients.
 *
 * engine.py subclasses Node as Value and registers, through bind(), the Value class,
 * its number-lifting function and its no_grad/detect_anomaly path; the methods and
 * operators of Value are RuleOps that stores.py sets on it from the table, and
 * set_operator() lets x + y, x - y, x * y and x / y reach theirs through Value's
 * number slots.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    PyObject *parent; /* a Node */
    double local;     /* d node / d parent, recorded in the forward pass */
} Edge;

typedef struct {
    PyObject_VAR_HEAD /* ob_size: the number of parents (0 for a leaf) */
    PyObject *data;     /* a float: the forward's own result, handed to children as is */
    double grad;
    PyObject *grad_obj; /* a grad that is not a float (a Value under create_graph) */
    PyObject *label;
    PyObject *op;
    PyObject *attrs;
    uint64_t mark; /* the last backward traversal that visited this node */
    Edge edges[1];
} NodeObject;

static PyTypeObject NodeType;

/* -------------------------------------------------------------------------
 * What engine.py registers (bind) */

static PyTypeObject *value_type; /* engine.Value: the class every node is made as */
static PyObject *lift_fn;        /* engine._lift: numbers to leaves, clear TypeErrors */
static PyObject *in_mode_fn;     /* engine._node_in_mode(rule, out, parents, attrs) */
static PyObject *as_data_fn;     /* checks.as_data: what node.data = x stores (or raises) */
static PyObject *as_grad_fn;     /* checks.as_grad: the same for a grad that is no float */
static PyObject *data_name;      /* "data", interned */
static PyObject *empty_str;
static PyObject *empty_tuple;
static PyObject *zero;
static long special_modes;       /* mirrors engine._special_modes */
/* Each backward traversal takes two marks: epoch (visited, no message received yet)
 * and epoch + 1 (has received one); traversal_epoch steps by 2. */
static uint64_t traversal_epoch;

#define IS_NODE(o) PyObject_TypeCheck((o), &NodeType)
#define NODE(o) ((NodeObject *)(o))

/* A growing array of pointers: the traversal stacks and backward's order. In
 * backward, an entry with its low bit set is a node to emit rather than to visit. */
typedef struct {
    uintptr_t *items;
    Py_ssize_t size, capacity;
} Stack;

static int
stack_push(Stack *stack, uintptr_t item)
{
    if (stack->size == stack->capacity) {
        Py_ssize_t capacity = stack->capacity ? 2 * stack->capacity : 64;
        uintptr_t *items = PyMem_Realloc(stack->items, capacity * sizeof(uintptr_t));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        stack->items = items;
        stack->capacity = capacity;
    }
    stack->items[stack->size++] = item;
    return 0;
}

/* The fields every node starts with; the caller sets grad_obj and mark to 0 if its
 * allocation did not. */
static void
init_node(NodeObject *node, PyObject *data, PyObject *op, PyObject *attrs)
{
    Py_INCREF(data);
    node->data = data;
    node->grad = 0.0;
    Py_INCREF(empty_str);
    node->label = empty_str;
    Py_INCREF(op);
    node->op = op;
    Py_INCREF(attrs);
    node->attrs = attrs;
}

/* A recorded node with n parents; parents' references are taken here. It is made
 * untracked by the cyclic garbage collector: see track_reachable. */
static NodeObject *
new_node(PyObject *data, PyObject *op, Py_ssize_t n, PyObject *const *parents,
         const double *locals, PyObject *attrs)
{
    NodeObject *node = PyObject_GC_NewVar(NodeObject, value_type, n);
    if (node == NULL)
        return NULL;
    init_node(node, data, op, attrs);
    node->grad_obj = NULL; /* PyObject_GC_NewVar does not zero the memory */
    node->mark = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_INCREF(parents[i]);
        node->edges[i].parent = parents[i];
        node->edges[i].local = locals[i];
    }
    return node;
}

/* Nodes and the cyclic garbage collector.
 *
 * A node refers to its parents, its data, its label, its attrs and its grad. Parents
 * are fixed at creation and are older than the node, so edges never close a cycle.
 * Data, labels and attrs hold no containers: the setters of label (a str) and attrs
 * (a tuple of atoms) check it, and data holds a number (it is a plain slot for speed;
 * a container put there is not supported). Only a grad that is a Value (create_graph)
 * can close a cycle: x.grad = 2 * x. So nodes start untracked, as CPython does for
 * tuples of atoms, and the collector never walks an ordinary graph (walking it again
 * and again while it grows cost more than building it). When a node gets a Value as
 * its grad, it and every node reachable from that Value become tracked, so any cycle
 * this closes lies wholly among tracked objects and is found.
 * Invariant: every node reachable (through parents and grads) from a tracked node is
 * tracked. A subclass of Value with a __dict__ stays tracked from birth and is on its
 * own: a descendant stored in its __dict__ is not walked here. */
static int
track_reachable(PyObject *start)
{
    Stack stack = {NULL, 0, 0};
    int status = stack_push(&stack, (uintptr_t)start);
    while (status == 0 && stack.size) {
        PyObject *node = (PyObject *)stack.items[--stack.size];
        if (PyObject_GC_IsTracked(node))
            continue;
        PyObject_GC_Track(node);
        NodeObject *current = NODE(node);
        for (Py_ssize_t i = 0; status == 0 && i < Py_SIZE(current); i++)
            status = stack_push(&stack, (uintptr_t)current->edges[i].parent);
        if (status == 0 && current->grad_obj != NULL)
            status = stack_push(&stack, (uintptr_t)current->grad_obj);
    }
    PyMem_Free(stack.items);
    return status;
}

/* A constant leaf for a float, or whatever engine._lift makes of anything else. */
static PyObject *
lift(PyObject *x)
{
    if (IS_NODE(x)) {
        Py_INCREF(x);
        return x;
    }
    if (PyFloat_CheckExact(x)) {
        double value = PyFloat_AS_DOUBLE(x);
        if (value == value)
            return (PyObject *)new_node(x, empty_str, 0, NULL, NULL, empty_tuple);
    }
    return PyObject_CallOneArg(lift_fn, x);
}

/* Read a rule's tuple of n local derivatives into doubles. */
static int
read_locals(PyObject *result, Py_ssize_t n, double *locals, PyObject *name)
{
    if (!PyTuple_Check(result) || PyTuple_GET_SIZE(result) != n) {
        PyErr_Format(PyExc_TypeError,
                     "the local function of rule %R must return a tuple of %zd "
                     "derivatives; got %R", name, n, result);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(result, i);
        locals[i] = PyFloat_CheckExact(item) ? PyFloat_AS_DOUBLE(item) : PyFloat_AsDouble(item);
        if (locals[i] == -1.0 && PyErr_Occurred())
            return -1;
    }
    return 0;
}

static int
check_bound(void)
{
    if (value_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "autograd_core._fastnode is not bound");
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------------------------
 * RuleOp: one rule bound as a Value method or operator (made by stores.py) */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *rule;    /* the Rule, passed back to engine.py's mode path */
    PyObject *name;    /* recorded as the node's op */
    PyObject *forward; /* forward(*inputs) on floats */
    PyObject *local;   /* local(*inputs, out) -> tuple of local derivatives */
    PyObject *doc;
    PyObject *method;  /* the attribute name it is bound as */
    Py_ssize_t arity;  /* 1 or 2 */
    int reflected;     /* other op self: the operands are swapped */
    int shared;        /* constant local derivatives, computed once (add, sub, neg) */
    double shared_locals[2];
} RuleOpObject;

static PyTypeObject RuleOpType;

/* Apply a bound rule to n (its arity) nodes: forward, local derivatives, record. */
static PyObject *
apply_rule(RuleOpObject *rule, Py_ssize_t n, PyObject *const *nodes)
{
    PyObject *args[3];
    PyObject *out = NULL, *result = NULL;
    double locals[2];
    Py_ssize_t i;

    for (i = 0; i < n; i++) {
        args[i] = NODE(nodes[i])->data; /* borrowed: the nodes hold them */
        if (args[i] == NULL) {
            PyErr_SetString(PyExc_AttributeError, "'Value' object has no attribute 'data'");
            return NULL;
        }
    }
    out = PyObject_Vectorcall(rule->forward, args, n, NULL);
    if (out == NULL)
        goto done;
    if (special_modes) {
        PyObject *parents = PyTuple_New(n);
        if (parents == NULL)
            goto done;
        for (i = 0; i < n; i++) {
            Py_INCREF(nodes[i]);
            PyTuple_SET_ITEM(parents, i, nodes[i]);
        }
        result = PyObject_CallFunctionObjArgs(in_mode_fn, rule->rule, out, parents,
                                              empty_tuple, NULL);
        Py_DECREF(parents);
        goto done;
    }
    if (rule->shared) {
        locals[0] = rule->shared_locals[0];
        locals[1] = rule->shared_locals[1];
    }
    else {
        args[n] = out;
        PyObject *local = PyObject_Vectorcall(rule->local, args, n + 1, NULL);
        if (local == NULL)
            goto done;
        int failed = read_locals(local, n, locals, rule->name);
        Py_DECREF(local);
        if (failed)
            goto done;
    }
    result = (PyObject *)new_node(out, rule->name, n, nodes, locals, empty_tuple);
done:
    Py_XDECREF(out);
    return result;
}

/* x.method() / op(x) for one input; x.method(y) / x op y (or y op x, reflected) for two. */
static PyObject *
ruleop_vectorcall(RuleOpObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (check_bound())
        return NULL;
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames)) {
        PyErr_Format(PyExc_TypeError, "%U() takes no keyword arguments", self->method);
        return NULL;
    }
    if (nargs != self->arity || !IS_NODE(args[0])) {
        PyErr_Format(PyExc_TypeError, "%U() applies rule %R to a Value%s", self->method,
                     self->name, self->arity == 2 ? " and one operand" : "");
        return NULL;
    }
    if (self->arity == 1)
        return apply_rule(self, 1, args);
    PyObject *nodes[2];
    PyObject *first = self->reflected ? args[1] : args[0];
    PyObject *second = self->reflected ? args[0] : args[1];
    nodes[0] = lift(first);
    if (nodes[0] == NULL)
        return NULL;
    nodes[1] = lift(second);
    if (nodes[1] == NULL) {
        Py_DECREF(nodes[0]);
        return NULL;
    }
    PyObject *result = apply_rule(self, 2, nodes);
    Py_DECREF(nodes[0]);
    Py_DECREF(nodes[1]);
    return result;
}

static PyObject *
ruleop_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    /* RuleOp(rule, name, method, arity, forward, local, shared_locals_or_None,
     *        reflected, doc) */
    PyObject *rule, *name, *method, *forward, *local, *shared, *doc;
    Py_ssize_t arity;
    int reflected;
    static char *keywords[] = {"rule", "name", "method", "arity", "forward", "local",
                               "shared", "reflected", "doc", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OUUnOOOpU:RuleOp", keywords, &rule, &name,
                                     &method, &arity, &forward, &local, &shared, &reflected,
                                     &doc))
        return NULL;
    if (arity != 1 && arity != 2) {
        PyErr_Format(PyExc_ValueError, "RuleOp: arity must be 1 or 2; got %zd", arity);
        return NULL;
    }
    if (!PyCallable_Check(forward) || !PyCallable_Check(local)) {
        PyErr_SetString(PyExc_TypeError, "RuleOp: forward and local must be callable");
        return NULL;
    }
    if (reflected && arity != 2) {
        PyErr_SetString(PyExc_ValueError, "RuleOp: only a two-input rule can be reflected");
        return NULL;
    }
    RuleOpObject *self = (RuleOpObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = (vectorcallfunc)ruleop_vectorcall;
    self->arity = arity;
    self->reflected = reflected;
    self->shared = shared != Py_None;
    if (self->shared && read_locals(shared, arity, self->shared_locals, name)) {
        Py_DECREF(self);
        return NULL;
    }
    self->rule = Py_NewRef(rule);
    self->name = Py_NewRef(name);
    PyUnicode_InternInPlace(&self->name);
    self->method = Py_NewRef(method);
    self->forward = Py_NewRef(forward);
    self->local = Py_NewRef(local);
    self->doc = Py_NewRef(doc);
    return (PyObject *)self;
}

static int
ruleop_traverse(RuleOpObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->rule);
    Py_VISIT(self->forward);
    Py_VISIT(self->local);
    return 0;
}

static int
ruleop_clear(RuleOpObject *self)
{
    Py_CLEAR(self->rule);
    Py_CLEAR(self->forward);
    Py_CLEAR(self->local);
    return 0;
}

static void
ruleop_dealloc(RuleOpObject *self)
{
    PyObject_GC_UnTrack(self);
    ruleop_clear(self);
    Py_CLEAR(self->name);
    Py_CLEAR(self->method);
    Py_CLEAR(self->doc);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Bound to an instance, a RuleOp is a method (x.tanh); the interpreter calls it
 * unbound with the instance first, without making the method object. */
static PyObject *
ruleop_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyObject *
ruleop_repr(RuleOpObject *self)
{
    return PyUnicode_FromFormat("<rule %R as Value.%U>", self->name, self->method);
}

/* Pickled and copied by name: getattr(Value, method) (the rule bound now). */
static PyObject *
ruleop_reduce(RuleOpObject *self, PyObject *Py_UNUSED(ignored))
{
    if (check_bound())
        return NULL;
    PyObject *getattr_fn = PyDict_GetItemString(PyEval_GetBuiltins(), "getattr");
    if (getattr_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "RuleOp: no builtin getattr");
        return NULL;
    }
    return Py_BuildValue("O(OO)", getattr_fn, (PyObject *)value_type, self->method);
}

/* What inspect.signature reads: the operands by position, named as the Python store's
 * methods name them. */
static PyObject *
ruleop_text_signature(RuleOpObject *self, void *Py_UNUSED(closure))
{
    if (self->arity == 1)
        return PyUnicode_FromString("(x, /)");
    return PyUnicode_FromString(self->reflected ? "(y, x, /)" : "(x, y, /)");
}

static PyGetSetDef ruleop_getset[] = {
    {"__text_signature__", (getter)ruleop_text_signature, NULL, NULL, NULL},
    {NULL},
};

static PyMethodDef ruleop_methods[] = {
    {"__reduce__", (PyCFunction)ruleop_reduce, METH_NOARGS, NULL},
    {NULL},
};

static PyMemberDef ruleop_members[] = {
    {"rule", T_OBJECT, offsetof(RuleOpObject, rule), READONLY, "The Rule it applies."},
    {"__name__", T_OBJECT, offsetof(RuleOpObject, method), READONLY, NULL},
    {"__doc__", T_OBJECT, offsetof(RuleOpObject, doc), READONLY, NULL},
    {NULL},
};

static PyTypeObject RuleOpType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autograd_core._fastnode.RuleOp",
    .tp_doc = "A rule of the table bound as a Value method or operator.",
    .tp_basicsize = sizeof(RuleOpObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
                | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_new = ruleop_new,
    .tp_dealloc = (destructor)ruleop_dealloc,
    .tp_traverse = (traverseproc)ruleop_traverse,
    .tp_clear = (inquiry)ruleop_clear,
    .tp_vectorcall_offset = offsetof(RuleOpObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_descr_get = ruleop_get,
    .tp_repr = (reprfunc)ruleop_repr,
    .tp_members = ruleop_members,
    .tp_methods = ruleop_methods,
    .tp_getset = ruleop_getset,
};

/* -------------------------------------------------------------------------
 * Number slots: x op y for Value without the interpreter's generic dispatch.
 *
 * stores.py sets x op y and y op x on Value as RuleOps (what introspection, pickling
 * and subclasses see). A class whose __add__ is set in Python gets the interpreter's
 * generic nb_add, which looks __add__ and __radd__ up again on every call;
 * set_operator() points Value's own slot at a function that calls the same two RuleOps
 * directly. Assigning Value.__add__ or __radd__ again resets the slot to the generic
 * one (the interpreter does that), so a later patch by anyone still wins; subclasses of
 * Value keep the generic slot, and so does a class bound before (bind() of another
 * class): its slots are reset when the table first serves the new one. Both RuleOps
 * compute rule(lift(x), lift(y)), so which of them runs changes no result. */

/* Python's four arithmetic slots (not rule names: any rule may claim an operator). */
#define N_DIRECT 4
static PyObject *number_ops[N_DIRECT][2]; /* [x op y, y op x] RuleOps, set with the slot */

static PyObject *
number_slot(int which, PyObject *x, PyObject *y)
{
    /* Called as x's slot (x is a Value) or as y's (y is, and x is no Value subclass
     * that took the call first). */
    PyObject *args[2];
    int reflected = !IS_NODE(x);
    PyObject *op = number_ops[which][reflected];
    if (op == NULL)
        Py_RETURN_NOTIMPLEMENTED;
    args[0] = reflected ? y : x;
    args[1] = reflected ? x : y;
    /* Held for the call: another thread may rebind the slot while a rule runs. */
    Py_INCREF(op);
    PyObject *result = ruleop_vectorcall((RuleOpObject *)op, args, 2, NULL);
    Py_DECREF(op);
    return result;
}

static PyObject *slot_add(PyObject *x, PyObject *y) { return number_slot(0, x, y); }
static PyObject *slot_sub(PyObject *x, PyObject *y) { return number_slot(1, x, y); }
static PyObject *slot_mul(PyObject *x, PyObject *y) { return number_slot(2, x, y); }
static PyObject *slot_div(PyObject *x, PyObject *y) { return number_slot(3, x, y); }

static const struct {
    const char *dunder; /* the method Python's data model names for the slot */
    size_t offset;      /* the slot's place in PyNumberMethods */
    binaryfunc function;
} number_slots[N_DIRECT] = {
    {"__add__", offsetof(PyNumberMethods, nb_add), slot_add},
    {"__sub__", offsetof(PyNumberMethods, nb_subtract), slot_sub},
    {"__mul__", offsetof(PyNumberMethods, nb_multiply), slot_mul},
    {"__truediv__", offsetof(PyNumberMethods, nb_true_divide), slot_div},
};

/* The class whose slots number_ops serves (a strong reference), and whose slots lose
 * it when another class is bound: the table then holds that class's RuleOps. */
static PyTypeObject *number_owner;

/* Give a class that no longer owns the table Python's own dispatch back: assigning an
 * operator to itself makes the interpreter reset the slot to its generic one. */
static int
release_number_slots(PyTypeObject *type)
{
    for (int i = 0; i < N_DIRECT; i++) {
        binaryfunc *slot = (binaryfunc *)((char *)type->tp_as_number + number_slots[i].offset);
        if (*slot != number_slots[i].function)
            continue;
        PyObject *op = PyDict_GetItemString(type->tp_dict, number_slots[i].dunder);
        if (op == NULL) { /* cannot happen (deleting it resets the slot); be safe */
            *slot = NULL;
            continue;
        }
        Py_INCREF(op);
        int failed = PyObject_SetAttrString((PyObject *)type, number_slots[i].dunder, op);
        Py_DECREF(op);
        if (failed)
            return -1;
    }
    return 0;
}

/* 1: op is Value.<attribute> now; 0: it is not (set elsewhere since, by another
 * thread's binding or by hand); -1: op is not a two-input RuleOp of that direction. */
static int
is_bound_ruleop(PyObject *op, int reflected, const char *attribute)
{
    if (!PyObject_TypeCheck(op, &RuleOpType) || ((RuleOpObject *)op)->arity != 2
        || ((RuleOpObject *)op)->reflected != reflected) {
        PyErr_Format(PyExc_TypeError, "set_operator(): %s must be a %s two-input RuleOp",
                     attribute, reflected ? "reflected" : "plain");
        return -1;
    }
    return PyDict_GetItemString(value_type->tp_dict, attribute) == op; /* borrowed */
}

static PyObject *
fast_set_operator(PyObject *module, PyObject *args)
{
    /* set_operator(operator, op, reflected_op) -> bool. operator is a name of
     * rules.BINARY_OPERATORS. True: Value's slot now calls the two RuleOps. False,
     * nothing changed: this operator has no direct slot here, or op and reflected_op
     * are not Value.__<operator>__ and Value.__r<operator>__ now (another thread bound
     * the table again in the meantime, or someone assigned one: Python's dispatch then
     * stays, and that binding sets the slot itself). */
    const char *name;
    PyObject *op, *reflected_op, *old_op, *old_reflected;
    PyTypeObject *old_owner = NULL;
    char attribute[64];
    int which, plain, reflected;
    if (!PyArg_ParseTuple(args, "sOO:set_operator", &name, &op, &reflected_op))
        return NULL;
    if (check_bound())
        return NULL;
    if (!(value_type->tp_flags & Py_TPFLAGS_HEAPTYPE)
        || value_type->tp_as_number != &((PyHeapTypeObject *)value_type)->as_number) {
        PyErr_SetString(PyExc_TypeError, "set_operator(): the bound Value is not a class");
        return NULL;
    }
    PyOS_snprintf(attribute, sizeof attribute, "__%s__", name);
    for (which = 0; which < N_DIRECT && strcmp(attribute, number_slots[which].dunder); which++)
        ;
    if (which == N_DIRECT)
        Py_RETURN_FALSE;
    plain = is_bound_ruleop(op, 0, attribute);
    if (plain < 0)
        return NULL;
    PyOS_snprintf(attribute, sizeof attribute, "__r%s__", name);
    reflected = is_bound_ruleop(reflected_op, 1, attribute);
    if (reflected < 0)
        return NULL;
    if (!plain || !reflected)
        Py_RETURN_FALSE;
    if (number_owner != value_type) {
        if (number_owner != NULL && release_number_slots(number_owner))
            return NULL;
        old_owner = number_owner;
        number_owner = (PyTypeObject *)Py_NewRef(value_type);
    }
    /* The table and the slot change together, with no Python code between the check
     * above and the slot: the old RuleOps are released only after (their last
     * reference may go, and what they hold may run code that rebinds Value). */
    old_op = number_ops[which][0];
    old_reflected = number_ops[which][1];
    number_ops[which][0] = Py_NewRef(op);
    number_ops[which][1] = Py_NewRef(reflected_op);
    *(binaryfunc *)((char *)value_type->tp_as_number + number_slots[which].offset) =
        number_slots[which].function;
    Py_XDECREF(old_op);
    Py_XDECREF(old_reflected);
    Py_XDECREF(old_owner);
    Py_RETURN_TRUE;
}

/* -------------------------------------------------------------------------
 * The node type */

static PyObject *
node_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    NodeObject *node = (NodeObject *)type->tp_alloc(type, 0);
    if (node == NULL)
        return NULL;
    /* A subclass with a __dict__ can hold anything and stays tracked. */
    if (type == value_type)
        PyObject_GC_UnTrack(node);
    init_node(node, zero, empty_str, empty_tuple); /* tp_alloc zeroed the rest */
    return (PyObject *)node;
}

static int
node_traverse(NodeObject *self, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; i < Py_SIZE(self); i++)
        Py_VISIT(self->edges[i].parent);
    Py_VISIT(self->data);
    Py_VISIT(self->grad_obj);
    Py_VISIT(self->label);
    Py_VISIT(self->attrs);
    return 0;
}

/* Parents are fixed at creation and a node is made after its parents, so edges alone
 * never form a cycle; a cycle runs through a grad (create_graph), a label or attrs. */
static int
node_clear(NodeObject *self)
{
    Py_CLEAR(self->grad_obj);
    Py_CLEAR(self->label);
    Py_CLEAR(self->attrs);
    return 0;
}

static void
node_dealloc(NodeObject *self)
{
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, node_dealloc)
    for (Py_ssize_t i = 0; i < Py_SIZE(self); i++)
        Py_CLEAR(self->edges[i].parent);
    Py_CLEAR(self->data);
    Py_CLEAR(self->grad_obj);
    Py_CLEAR(self->label);
    Py_CLEAR(self->op);
    Py_CLEAR(self->attrs);
    Py_TYPE(self)->tp_free((PyObject *)self);
    Py_TRASHCAN_END
}

static int
refuse_delete(PyObject *value, const char *name)
{
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "cannot delete a Value's %s", name);
        return -1;
    }
    return 0;
}

static PyObject *
get_grad(NodeObject *self, void *closure)
{
    if (self->grad_obj != NULL) {
        Py_INCREF(self->grad_obj);
        return self->grad_obj;
    }
    return PyFloat_FromDouble(self->grad);
}

/* A grad is a real number, kept as a double, or a Value (create_graph). */
static int
store_grad(NodeObject *self, PyObject *value)
{
    if (PyFloat_Check(value)) {
        self->grad = PyFloat_AS_DOUBLE(value);
        Py_CLEAR(self->grad_obj);
        return 0;
    }
    if (IS_NODE(value)) {
        Py_INCREF(value);
        Py_XSETREF(self->grad_obj, value);
        /* A tracked node's parents are tracked already: walk from the new grad. */
        return track_reachable(PyObject_GC_IsTracked((PyObject *)self) ? value
                                                                      : (PyObject *)self);
    }
    /* Anything else goes through the engine's check, shared with the Python store. */
    if (as_grad_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "autograd_core._fastnode has no checkers");
        return -1;
    }
    PyObject *number = PyObject_CallOneArg(as_grad_fn, value);
    if (number == NULL)
        return -1;
    double grad = PyFloat_AsDouble(number);
    Py_DECREF(number);
    if (grad == -1.0 && PyErr_Occurred())
        return -1;
    self->grad = grad;
    Py_CLEAR(self->grad_obj);
    return 0;
}

static int
set_grad(NodeObject *self, PyObject *value, void *closure)
{
    if (refuse_delete(value, "grad"))
        return -1;
    return store_grad(self, value);
}

/* label and op hold strings. */
static int
store_str(PyObject **field, PyObject *value, const char *name)
{
    if (refuse_delete(value, name))
        return -1;
    /* Exactly a str: a subclass can carry a __dict__ that refers back to the node, a
     * cycle through an untracked node that the collector would never see. */
    if (!PyUnicode_CheckExact(value)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str; got %R (%s)", name, value,
                     _PyType_Name(Py_TYPE(value)));
        return -1;
    }
    Py_INCREF(value);
    Py_XSETREF(*field, value);
    return 0;
}

static PyObject *
get_label(NodeObject *self, void *closure)
{
    return Py_NewRef(self->label);
}

static int
set_label(NodeObject *self, PyObject *value, void *closure)
{
    return store_str(&self->label, value, "label");
}

static PyObject *
get_op(NodeObject *self, void *closure)
{
    return Py_NewRef(self->op);
}

static int
set_op(NodeObject *self, PyObject *value, void *closure)
{
    return store_str(&self->op, value, "op");
}

/* attrs are constants of the op: a tuple of atoms (numbers, strings), never a
 * container, so they cannot close a cycle (see track_reachable). */
static int
check_attrs(PyObject *attrs)
{
    /* Exact types only: subclasses of tuple, int, float or str can hold a __dict__. */
    if (!PyTuple_CheckExact(attrs)) {
        PyErr_Format(PyExc_TypeError, "attrs must be a tuple; got %R", attrs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(attrs); i++) {
        PyObject *item = PyTuple_GET_ITEM(attrs, i);
        if (!PyLong_CheckExact(item) && !PyFloat_CheckExact(item) &&
            !PyUnicode_CheckExact(item)) {
            PyErr_Format(PyExc_TypeError,
                         "an op's attrs must be numbers or strings; got %R (%s)", item,
                         _PyType_Name(Py_TYPE(item)));
            return -1;
        }
    }
    return 0;
}

static PyObject *
get_attrs(NodeObject *self, void *closure)
{
    return Py_NewRef(self->attrs);
}

static int
set_attrs(NodeObject *self, PyObject *value, void *closure)
{
    if (refuse_delete(value, "attrs") || check_attrs(value))
        return -1;
    Py_INCREF(value);
    Py_XSETREF(self->attrs, value);
    return 0;
}

static PyObject *
get_parents(NodeObject *self, void *closure)
{
    PyObject *parents = PyTuple_New(Py_SIZE(self));
    if (parents == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < Py_SIZE(self); i++) {
        Py_INCREF(self->edges[i].parent);
        PyTuple_SET_ITEM(parents, i, self->edges[i].parent);
    }
    return parents;
}

static PyObject *
get_local_grads(NodeObject *self, void *closure)
{
    PyObject *locals = PyTuple_New(Py_SIZE(self));
    if (locals == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < Py_SIZE(self); i++) {
        PyObject *item = PyFloat_FromDouble(self->edges[i].local);
        if (item == NULL) {
            Py_DECREF(locals);
            return NULL;
        }
        PyTuple_SET_ITEM(locals, i, item);
    }
    return locals;
}

/* data is a plain slot for reading (the fastest attribute to read); writing it goes
 * through node_setattro, which stores a float or refuses, as the Python store does. */
static PyMemberDef node_members[] = {
    {"data", T_OBJECT_EX, offsetof(NodeObject, data), READONLY, "The value (a float)."},
    {NULL},
};

static int
set_data(NodeObject *self, PyObject *value)
{
    if (refuse_delete(value, "data"))
        return -1;
    if (PyFloat_CheckExact(value) && !Py_IS_NAN(PyFloat_AS_DOUBLE(value))) {
        Py_INCREF(value);
        Py_XSETREF(self->data, value);
        return 0;
    }
    if (as_data_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "autograd_core._fastnode has no checkers");
        return -1;
    }
    PyObject *number = PyObject_CallOneArg(as_data_fn, value);
    if (number == NULL)
        return -1;
    if (!PyFloat_CheckExact(number)) {
        PyErr_Format(PyExc_TypeError, "the data check returned %R, not a float", number);
        Py_DECREF(number);
        return -1;
    }
    Py_XSETREF(self->data, number);
    return 0;
}

static int
node_setattro(PyObject *self, PyObject *name, PyObject *value)
{
    if (name == data_name ||
        (PyUnicode_Check(name) && PyUnicode_Compare(name, data_name) == 0))
        return set_data(NODE(self), value);
    return PyObject_GenericSetAttr(self, name, value);
}

static PyGetSetDef node_getset[] = {
    {"grad", (getter)get_grad, (setter)set_grad,
     "The delta d(root)/d(self) after backward(); a Value under create_graph.", NULL},
    {"label", (getter)get_label, (setter)set_label, "A name shown in reprs and pictures.",
     NULL},
    {"op", (getter)get_op, (setter)set_op,
     "The name of the rule that made this node ('' for a leaf).", NULL},
    {"attrs", (getter)get_attrs, (setter)set_attrs,
     "The op's constant attributes (the exponent of x ** 2, a slope).", NULL},
    {"parents", (getter)get_parents, NULL,
     "The inputs of the op that made this node, in argument order (a tuple).", NULL},
    {"local_grads", (getter)get_local_grads, NULL,
     "d self / d parent for each parent, computed in the forward pass (a tuple).", NULL},
    {NULL},
};

static PyTypeObject NodeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autograd_core._fastnode.Node",
    .tp_doc = "The compiled storage of a Value (see autograd_core.Value).",
    .tp_basicsize = offsetof(NodeObject, edges),
    .tp_itemsize = sizeof(Edge),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = node_new,
    .tp_dealloc = (destructor)node_dealloc,
    .tp_traverse = (traverseproc)node_traverse,
    .tp_clear = (inquiry)node_clear,
    .tp_setattro = node_setattro,
    .tp_members = node_members,
    .tp_getset = node_getset,
};

/* -------------------------------------------------------------------------
 * Module functions */

static PyObject *
fast_make(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    /* make(data, op, parents, local_grads, attrs): engine._node for the compiled core */
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "make() takes 5 arguments");
        return NULL;
    }
    if (check_bound())
        return NULL;
    PyObject *parents = args[2], *locals = args[3];
    if (!PyTuple_Check(parents) || !PyTuple_Check(locals)) {
        PyErr_SetString(PyExc_TypeError, "make(): parents and local_grads must be tuples");
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(parents);
    if (PyTuple_GET_SIZE(locals) != n) {
        PyErr_Format(PyExc_ValueError, "make(): %zd parents but %zd local derivatives",
                     n, PyTuple_GET_SIZE(locals));
        return NULL;
    }
    if (!PyUnicode_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "make(): op must be a str; got %R", args[1]);
        return NULL;
    }
    if (check_attrs(args[4]))
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!IS_NODE(PyTuple_GET_ITEM(parents, i))) {
            PyErr_Format(PyExc_TypeError, "make(): parent %R is not a Value",
                         PyTuple_GET_ITEM(parents, i));
            return NULL;
        }
    }
    double small[8];
    double *buffer = n <= 8 ? small : PyMem_Malloc(n * sizeof(double));
    if (buffer == NULL)
        return PyErr_NoMemory();
    PyObject *result = NULL;
    if (read_locals(locals, n, buffer, args[1]) == 0)
        result = (PyObject *)new_node(args[0], args[1], n, &PyTuple_GET_ITEM(parents, 0),
                                      buffer, args[4]);
    if (buffer != small)
        PyMem_Free(buffer);
    return result;
}

/* A leaf whose grad is an object (a Value) adds the message the Python way. */
static int
add_to_object_grad(NodeObject *node, double contribution)
{
    PyObject *message = PyFloat_FromDouble(contribution);
    if (message == NULL)
        return -1;
    PyObject *total = PyNumber_Add(node->grad_obj, message);
    Py_DECREF(message);
    if (total == NULL)
        return -1;
    int status = store_grad(node, total);
    Py_DECREF(total);
    return status;
}

/* Under detect_anomaly: the receiver's new total goes to the engine's check
 * (check(sender, local, delta, total)) before it is stored. */
static int
checked_message(PyObject *check, NodeObject *node, double local, double delta,
                NodeObject *parent, double contribution, uint64_t epoch)
{
    PyObject *total;
    if (parent->mark == epoch)
        total = PyFloat_FromDouble(contribution);
    else if (parent->grad_obj == NULL)
        total = PyFloat_FromDouble(parent->grad + contribution);
    else {
        PyObject *message = PyFloat_FromDouble(contribution);
        if (message == NULL)
            return -1;
        total = PyNumber_Add(parent->grad_obj, message);
        Py_DECREF(message);
    }
    if (total == NULL)
        return -1;
    PyObject *local_obj = PyFloat_FromDouble(local);
    PyObject *delta_obj = PyFloat_FromDouble(delta);
    PyObject *result = NULL;
    if (local_obj != NULL && delta_obj != NULL) {
        PyObject *call_args[4] = {(PyObject *)node, local_obj, delta_obj, total};
        result = PyObject_Vectorcall(check, call_args, 4, NULL);
    }
    Py_XDECREF(local_obj);
    Py_XDECREF(delta_obj);
    int status = -1;
    if (result != NULL) {
        Py_DECREF(result);
        if (parent->mark == epoch)
            parent->mark = epoch + 1;
        status = store_grad(parent, total);
    }
    Py_DECREF(total);
    return status;
}

static PyObject *
fast_backward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    /* backward(root, seed, check=None, careful=False): Value.backward's float path,
     * the mirror of engine.py's _backpropagate: the same nodes, messages and additions
     * in the same order, each message checked by check() when given (detect_anomaly).
     * Returns True when done. Adding to a leaf's grad that is a Value can fail half
     * way, so unless careful is true (the caller has saved every grad) a pass that
     * would reach such a leaf writes nothing and returns False. */
    if (nargs < 2 || nargs > 4 || !IS_NODE(args[0]) || !PyFloat_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "backward(root: Value, seed: float, check=None, careful=False)");
        return NULL;
    }
    PyObject *check = nargs >= 3 && args[2] != Py_None ? args[2] : NULL;
    int careful = nargs == 4 ? PyObject_IsTrue(args[3]) : 0;
    if (careful < 0)
        return NULL;
    NodeObject *root = NODE(args[0]);
    double seed = PyFloat_AS_DOUBLE(args[1]);
    if (Py_SIZE(root) == 0) { /* a leaf adds the seed to what it had, like a message */
        if (check != NULL) {
            traversal_epoch += 2; /* a mark the root does not hold: not a first message */
            if (checked_message(check, root, 1.0, seed, root, seed, traversal_epoch))
                return NULL;
        }
        else if (root->grad_obj != NULL) {
            if (add_to_object_grad(root, seed))
                return NULL;
        }
        else
            root->grad += seed;
        Py_RETURN_TRUE;
    }

    /* The interior nodes, parents before children: the depth-first search of
     * engine._depth_first with a mark (no leaves). Nothing is written yet: a visited
     * node's first message sets its grad, later ones add (engine.py's loop starts
     * such a sum at -0.0, which adds exactly: the same bits). */
    traversal_epoch += 2;
    uint64_t epoch = traversal_epoch;
    Stack stack = {NULL, 0, 0}, order = {NULL, 0, 0};
    PyObject *result = NULL;
    int object_leaves = 0; /* a reached leaf whose grad is a Value */
    if (stack_push(&stack, (uintptr_t)root))
        goto done;
    while (stack.size) {
        uintptr_t item = stack.items[--stack.size];
        if (item & 1) {
            if (stack_push(&order, item & ~(uintptr_t)1))
                goto done;
            continue;
        }
        NodeObject *node = (NodeObject *)item;
        if (node->mark == epoch)
            continue;
        node->mark = epoch;
        if (stack_push(&stack, item | 1))
            goto done;
        for (Py_ssize_t i = Py_SIZE(node) - 1; i >= 0; i--) {
            NodeObject *parent = NODE(node->edges[i].parent);
            if (Py_SIZE(parent) == 0)
                object_leaves |= parent->grad_obj != NULL;
            else if (parent->mark != epoch && stack_push(&stack, (uintptr_t)parent))
                goto done;
        }
    }
    if (object_leaves && !careful) {
        Py_INCREF(Py_False);
        result = Py_False;
        goto done;
    }
    root->grad = seed;
    Py_CLEAR(root->grad_obj);

    /* Children before parents: every parent receives delta * local. */
    for (Py_ssize_t k = order.size - 1; k >= 0; k--) {
        NodeObject *node = (NodeObject *)order.items[k];
        double delta = node->grad;
        for (Py_ssize_t i = 0; i < Py_SIZE(node); i++) {
            NodeObject *parent = NODE(node->edges[i].parent);
            double contribution = delta * node->edges[i].local;
            if (check != NULL) {
                if (checked_message(check, node, node->edges[i].local, delta, parent,
                                    contribution, epoch))
                    goto done;
            }
            else if (parent->mark == epoch) { /* an interior node's first message */
                parent->grad = contribution;
                Py_CLEAR(parent->grad_obj);
                parent->mark = epoch + 1;
            }
            else if (parent->grad_obj == NULL)
                parent->grad += contribution; /* a leaf adds to what it had */
            else if (add_to_object_grad(parent, contribution))
                goto done;
        }
    }
    Py_INCREF(Py_True);
    result = Py_True;
done:
    PyMem_Free(stack.items);
    PyMem_Free(order.items);
    return result;
}

static PyObject *
fast_set_special_modes(PyObject *module, PyObject *arg)
{
    long count = PyLong_AsLong(arg);
    if (count == -1 && PyErr_Occurred())
        return NULL;
    special_modes = count;
    Py_RETURN_NONE;
}

static PyObject *
fast_bind(PyObject *module, PyObject *args)
{
    /* bind(Value, lift, node_in_mode): the class nodes are made as, the function that
     * lifts numbers to leaves and the path of an op while a mode is active. */
    PyObject *cls, *lift_arg, *in_mode_arg;
    if (!PyArg_ParseTuple(args, "O!OO:bind", &PyType_Type, &cls, &lift_arg, &in_mode_arg))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)cls, &NodeType)) {
        PyErr_SetString(PyExc_TypeError, "bind(): the class must subclass Node");
        return NULL;
    }
    Py_INCREF(cls);
    Py_XSETREF(value_type, (PyTypeObject *)cls);
    Py_INCREF(lift_arg);
    Py_XSETREF(lift_fn, lift_arg);
    Py_INCREF(in_mode_arg);
    Py_XSETREF(in_mode_fn, in_mode_arg);
    Py_RETURN_NONE;
}

static PyObject *
fast_set_checkers(PyObject *module, PyObject *args)
{
    /* set_checkers(as_data, as_grad): the engine's checks, shared with the Python store. */
    PyObject *data_check, *grad_check;
    if (!PyArg_ParseTuple(args, "OO:set_checkers", &data_check, &grad_check))
        return NULL;
    Py_INCREF(data_check);
    Py_XSETREF(as_data_fn, data_check);
    Py_INCREF(grad_check);
    Py_XSETREF(as_grad_fn, grad_check);
    Py_RETURN_NONE;
}

/* Whether a buffer format is one native-order C double ("d", numpy's "<d" here). */
static int
native_double(const char *format)
{
    if (format == NULL)
        return 0;
    if (*format == '@' || *format == '=' || *format == (PY_LITTLE_ENDIAN ? '<' : '>'))
        format++;
    return format[0] == 'd' && format[1] == '\0';
}

static PyObject *
fast_read_data(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    /* read_data(nodes, out): out[i] = nodes[i].data for a tuple of Values, into a
     * writable C-contiguous buffer of len(nodes) doubles (a float64 numpy array). A
     * node of the bound Value class is read from its field; any other object through
     * its data attribute, as the Python store reads it. */
    if (nargs != 2 || !PyTuple_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "read_data(nodes: tuple, out: float64 buffer)");
        return NULL;
    }
    PyObject *nodes = args[0];
    Py_buffer view;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS))
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(nodes);
    PyObject *result = NULL;
    if (!native_double(view.format) || view.len != n * (Py_ssize_t)sizeof(double)) {
        PyErr_Format(PyExc_ValueError, "read_data(): out must hold %zd float64 values", n);
        goto done;
    }
    double *out = (double *)view.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(nodes, i);
        if (Py_TYPE(item) == value_type && PyFloat_Check(NODE(item)->data)) {
            out[i] = PyFloat_AS_DOUBLE(NODE(item)->data);
            continue;
        }
        PyObject *data = PyObject_GetAttr(item, data_name);
        if (data == NULL)
            goto done;
        double value = PyFloat_AsDouble(data);
        Py_DECREF(data);
        if (value == -1.0 && PyErr_Occurred())
            goto done;
        out[i] = value;
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef module_methods[] = {
    {"set_checkers", fast_set_checkers, METH_VARARGS,
     "set_checkers(as_data, as_grad): what assigning data or grad stores, or refuses."},
    {"set_operator", fast_set_operator, METH_VARARGS,
     "set_operator(operator, op, reflected_op): Value's number slot calls the two "
     "bound RuleOps directly; False (nothing changed) if the operator has no such "
     "slot or they are not Value's operators now."},
    {"bind", fast_bind, METH_VARARGS,
     "bind(Value, lift, node_in_mode): connect the node store to engine.py."},
    {"make", (PyCFunction)(void (*)(void))fast_make, METH_FASTCALL,
     "make(data, op, parents, local_grads, attrs): a recorded node."},
    {"backward", (PyCFunction)(void (*)(void))fast_backward, METH_FASTCALL,
     "backward(root, seed, check=None, careful=False): Value.backward's float path."},
    {"read_data", (PyCFunction)(void (*)(void))fast_read_data, METH_FASTCALL,
     "read_data(nodes, out): out[i] = nodes[i].data, into a float64 buffer."},
    {"set_special_modes", fast_set_special_modes, METH_O,
     "set_special_modes(count): how many no_grad/detect_anomaly blocks are active."},
    {NULL},
};

static struct PyModuleDef fastnode_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "autograd_core._fastnode",
    .m_doc = "The compiled node store of autograd_core (see engine.py).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__fastnode(void)
{
    if (PyType_Ready(&NodeType) < 0 || PyType_Ready(&RuleOpType) < 0)
        return NULL;
    empty_str = PyUnicode_InternFromString("");
    data_name = PyUnicode_InternFromString("data");
    empty_tuple = PyTuple_New(0);
    zero = PyFloat_FromDouble(0.0);
    if (empty_str == NULL || data_name == NULL || empty_tuple == NULL || zero == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&fastnode_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Node", (PyObject *)&NodeType) < 0 ||
        PyModule_AddObjectRef(module, "RuleOp", (PyObject *)&RuleOpType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
