"""Where the operator meets the cluster: kopf handlers, the work queue, the reconcile and
autoscaling loops, and the `switchboard run` process that hosts them."""
