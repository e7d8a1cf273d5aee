# Shared by the qemu/bench-* scripts (sourced, not run).

# nginx_conf DIR LISTEN ROOT: write DIR/nginx.conf for an nginx serving ROOT on LISTEN
# (address:port), with its pid, logs and temporary files in DIR, and sendfile on.
nginx_conf() {
    local dir=$1 listen=$2 root=$3
    cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
error_log $dir/error.log;
pid $dir/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $dir;
    proxy_temp_path $dir;
    fastcgi_temp_path $dir;
    uwsgi_temp_path $dir;
    scgi_temp_path $dir;
    server {
        listen $listen;
        root $root;
    }
}
EOF
}
