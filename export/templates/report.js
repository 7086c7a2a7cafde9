(function(){
  var flags=document.querySelectorAll('.flag');
  document.querySelectorAll('nav button').forEach(function(b){
    b.addEventListener('click',function(){
      var g=b.getAttribute('data-gravite');
      flags.forEach(function(f){f.classList.toggle('hidden',g!=='tout'&&!f.classList.contains(g));});
    });
  });
  document.querySelectorAll('table.sortable').forEach(function(table){
    var heads=table.querySelectorAll('thead th');
    heads.forEach(function(th,col){
      th.addEventListener('click',function(){
        var num=th.getAttribute('data-type')==='num',asc=!th.classList.contains('asc');
        heads.forEach(function(h){h.classList.remove('asc','desc');});
        th.classList.add(asc?'asc':'desc');
        var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){
          var x=a.cells[col].getAttribute('data-v'),y=b.cells[col].getAttribute('data-v'),r;
          if(num){x=x===''?-Infinity:parseFloat(x);y=y===''?-Infinity:parseFloat(y);r=x-y;}
          else{r=x.localeCompare(y,'fr');}
          return asc?r:-r;
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  window.addEventListener('load',function(){
    var imgs=document.querySelectorAll('img.crop'),ok=0;
    imgs.forEach(function(i){if(i.complete&&i.naturalWidth>0){ok++;}});
    document.body.setAttribute('data-flags',String(flags.length));
    document.body.setAttribute('data-images',String(imgs.length));
    document.body.setAttribute('data-images-ok',String(ok));
    document.body.setAttribute('data-synthese',String(document.querySelectorAll('#synthese-table tbody tr').length));
    document.body.setAttribute('data-chart-bars',String(document.querySelectorAll('svg.chart rect.bar').length));
    document.body.setAttribute('data-ready','ok');
  });
})();
